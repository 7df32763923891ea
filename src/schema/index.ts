// Every domain module registers its types and fields on the builder; this assembles them.
import { builder } from './builder';
import { queriesNeedACredential, withoutVisibilityChecks } from './visibility';
import './enums';
import './user';
import './organization';
import './space';
import './board';
import './item';
import './apiToken';
import './audit';
import './leakedTokens';
import './tokenPolicy';
import './federation';
import './webhook';

export const schema = queriesNeedACredential(builder.toSchema({ sortSchema: false }));

/** The same schema without its auth scopes and visibility checks: only for the benchmark's baseline (see src/app.ts). */
export const schemaWithoutScopeAuth = () => withoutVisibilityChecks(builder.toSchema({ sortSchema: false, disableScopeAuth: true }));
