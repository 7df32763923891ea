import { ROLES } from '../auth/roles';
import { builder } from './builder';

export const RoleEnum = builder.enumType('Role', {
  description: 'Ordered VIEWER < AGENT < EDITOR < OWNER; each has everything the one before it has.',
  values: ROLES,
});
export const TokenKindEnum = builder.enumType('TokenKind', { values: ['PERSONAL', 'SERVICE'] as const });
export const ScopeTypeEnum = builder.enumType('ScopeType', { values: ['ORGANIZATION', 'SPACE', 'BOARDS'] as const });
export const TokenStatusEnum = builder.enumType('TokenStatus', { values: ['ACTIVE', 'EXPIRED', 'REVOKED'] as const });
