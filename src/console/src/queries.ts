// The GraphQL documents the console sends (the public API, schema.graphql).
import { gql } from 'urql';

export type Role = 'VIEWER' | 'AGENT' | 'EDITOR' | 'OWNER';
export type TokenKind = 'PERSONAL' | 'SERVICE';
export type TokenStatus = 'ACTIVE' | 'EXPIRED' | 'REVOKED';

export interface ApiToken {
  id: string;
  name: string;
  description: string | null;
  kind: TokenKind;
  role: Role | null;
  scopeType: 'ORGANIZATION' | 'SPACE' | 'BOARDS' | null;
  organization: { id: string; name: string } | null;
  space: { id: string; name: string } | null;
  boards: { id: string; name: string }[];
  maskedToken: string;
  status: TokenStatus;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdBy: { id: string; name: string } | null;
}

export interface Connection<T> {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { node: T }[];
}

const TOKEN_FIELDS = `
  id name description kind role scopeType
  organization { id name } space { id name } boards { id name }
  maskedToken status createdAt expiresAt lastUsedAt revokedAt
  createdBy { id name }
`;

const AUTH_FIELDS = 'token expiresAt user { id name email }';

export const SIGN_UP = gql`mutation SignUp($input: SignUpInput!) { signUp(input: $input) { ${AUTH_FIELDS} } }`;
export const LOG_IN = gql`mutation LogIn($input: LogInInput!) { logIn(input: $input) { ${AUTH_FIELDS} } }`;
export const LOG_OUT = gql`mutation LogOut { logOut }`;

export const MY_TOKENS = gql`
  query MyTokens($filter: ApiTokenFilter, $first: Int, $after: String) {
    apiTokens(filter: $filter, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { ${TOKEN_FIELDS} } }
    }
  }
`;

export const ONE_TOKEN = gql`
  query OneToken($id: ID!) {
    apiToken(id: $id) { ${TOKEN_FIELDS} }
  }
`;

export const ORGANIZATION_TOKENS = gql`
  query OrganizationTokens($id: ID!, $filter: ApiTokenFilter, $first: Int, $after: String) {
    organization(id: $id) {
      id
      apiTokens(filter: $filter, first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { ${TOKEN_FIELDS} } }
      }
    }
  }
`;

export interface AuditEvent {
  id: string;
  action: string;
  actorName: string;
  targetId: string | null;
  createdAt: string;
}

export const ORGANIZATION_AUDIT = gql`
  query OrganizationAudit($id: ID!, $first: Int, $after: String) {
    organization(id: $id) {
      id
      auditEvents(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { id action actorName targetId createdAt } }
      }
    }
  }
`;

export interface Organization {
  id: string;
  name: string;
  viewerRole: Role | null;
}

export const MY_ORGANIZATIONS = gql`
  query MyOrganizations { organizations(first: 100) { edges { node { id name viewerRole } } } }
`;

export interface Board {
  id: string;
  name: string;
}
export interface Space {
  id: string;
  name: string;
  viewerRole: Role | null;
}

/** What the wizard's space picker offers: one organization's spaces. */
export const ORGANIZATION_SPACES = gql`
  query OrganizationSpaces($id: ID!) {
    organization(id: $id) {
      id name viewerRole
      spaces(first: 100) { edges { node { id name viewerRole } } }
    }
  }
`;

/** What the wizard's board picker offers: one space's boards. */
export const SPACE_BOARDS = gql`
  query SpaceBoards($id: ID!) {
    space(id: $id) { id boards(first: 100) { edges { node { id name } } } }
  }
`;

export const CREATE_TOKEN = gql`
  mutation CreateToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) { secret apiToken { ${TOKEN_FIELDS} } }
  }
`;

export const UPDATE_TOKEN = gql`
  mutation UpdateToken($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { ${TOKEN_FIELDS} } }
`;

export const REGENERATE_TOKEN = gql`
  mutation RegenerateToken($id: ID!, $gracePeriodSeconds: Int) {
    regenerateApiToken(id: $id, gracePeriodSeconds: $gracePeriodSeconds) { secret apiToken { ${TOKEN_FIELDS} } }
  }
`;

export const REVOKE_TOKEN = gql`mutation RevokeToken($id: ID!) { revokeApiToken(id: $id) { ${TOKEN_FIELDS} } }`;
export const DELETE_TOKEN = gql`mutation DeleteToken($id: ID!) { deleteApiToken(id: $id) }`;
