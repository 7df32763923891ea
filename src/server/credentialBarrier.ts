// After a mutation, before its response is sent: wait until every gateway instance has
// dropped the credentials the mutation may have changed (src/auth/credentialChanges.ts), so
// that a revoked token, a removed member or an ended session is refused by the very next
// request, wherever it lands. Queries never wait.
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { CredentialChanges } from '../auth/credentialChanges';
import type { Logger } from './logging';

export function credentialBarrierPlugin(changes: CredentialChanges, logger: Logger): Plugin {
  return {
    onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName ?? undefined)?.operation !== 'mutation') return;
      return {
        async onExecuteDone() {
          await changes.barrier().catch((error: unknown) => logger.warn({ err: error }, 'Credential change barrier failed.'));
        },
      };
    },
  };
}
