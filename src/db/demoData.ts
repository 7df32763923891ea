// First run: on an empty database, a demo organization (a space, boards, a few items), an
// owner account and an OWNER token, announced once on stdout. Later starts find users and
// do nothing.
import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client';
import { issueToken } from '../auth/issueToken';
import { rememberSecret } from '../auth/reuseDetection';
import { hashSecret } from '../auth/password';
import { API_TOKEN_PREFIX, maskToken } from '../auth/tokenFormat';

export interface DemoData {
  ownerEmail: string;
  boardId: string;
  banner(url: string): string;
}

const OWNER_EMAIL = 'owner@demo.portcullis.local';

export async function seedDemoData(prisma: PrismaClient): Promise<DemoData | null> {
  if ((await prisma.user.count()) > 0) return null;
  const password = randomBytes(12).toString('base64url');
  const passwordHash = await hashSecret(password);
  const issued = await issueToken(API_TOKEN_PREFIX);

  const seeded = await prisma.$transaction(async (tx) => {
    // Two instances starting at once on one empty database: only one seeds.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(7251)`;
    if ((await tx.user.count()) > 0) return null;
    const owner = await tx.user.create({
      data: { email: OWNER_EMAIL, emailKey: OWNER_EMAIL.toLowerCase(), name: 'Demo Owner', passwordHash },
    });
    const organization = await tx.organization.create({ data: { name: 'Demo Organization' } });
    await tx.membership.create({
      data: { userId: owner.id, organizationId: organization.id, levelId: organization.id, role: 'OWNER', acceptedAt: new Date() },
    });
    const space = await tx.space.create({ data: { name: 'Engineering', organizationId: organization.id } });
    const boardNames = { Roadmap: ['Ship v1', 'Write the docs'], Bugs: ['Login page typo', 'Slow board load', 'Flaky CI job'] };
    const boards = [];
    for (const [name, items] of Object.entries(boardNames)) {
      const board = await tx.board.create({ data: { name, spaceId: space.id, organizationId: organization.id } });
      for (const [i, itemName] of items.entries()) {
        await tx.item.create({
          data: { boardId: board.id, spaceId: space.id, organizationId: organization.id, name: itemName, status: i === 0 ? 'in progress' : 'todo' },
        });
      }
      boards.push(board);
    }
    const token = await tx.apiToken.create({
      data: {
        publicId: issued.publicId,
        secretHash: issued.secretHash,
        name: 'Demo owner token',
        description: 'Created on first run. Revoke it when you are done exploring.',
        kind: 'PERSONAL',
        role: 'OWNER',
        userId: owner.id,
        createdByUserId: owner.id,
      },
    });
    await rememberSecret(tx, token.id, issued.secretDigest); // reuse detection once it is regenerated
    await tx.auditEvent.create({
      data: { organizationId: organization.id, action: 'token.created', actorName: owner.name, actorUserId: owner.id, targetId: token.id },
    });
    return { boardId: boards[0].id };
  });
  if (!seeded) return null;

  return {
    ownerEmail: OWNER_EMAIL,
    boardId: seeded.boardId,
    banner: (url) => {
      const query = JSON.stringify({ query: `{ board(id: "${seeded.boardId}") { name items { edges { node { name status } } } } }` });
      return [
        '',
        '=== Portcullis demo data (shown once) ===',
        `GraphiQL:     ${url}`,
        `Console:      ${url.replace(/\/graphql$/, '/console')}  (log in as the owner below)`,
        `Owner login:  ${OWNER_EMAIL}  /  password: ${password}`,
        `OWNER token:  ${issued.token}`,
        `              (listed as ${maskToken(issued.publicId)}; this is the only time the full token is shown)`,
        '',
        'Try it:',
        `curl -s ${url} \\`,
        `  -H 'Authorization: Bearer ${issued.token}' \\`,
        `  -H 'Content-Type: application/json' \\`,
        `  -d '${query}'`,
        '',
        'In GraphiQL, open "Headers" and paste: {"Authorization": "Bearer <the token above>"}',
        'Switch this off with SEED_DEMO_DATA=false.',
        '==========================================',
        '',
      ].join('\n');
    },
  };
}
