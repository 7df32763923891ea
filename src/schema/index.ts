// Every domain module registers its types and fields on the builder; this assembles them.
import { builder } from './builder';
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

export const schema = builder.toSchema({ sortSchema: false });

/** The same schema without its auth scopes: only for the benchmark's baseline (see src/app.ts). */
export const schemaWithoutScopeAuth = () => builder.toSchema({ sortSchema: false, disableScopeAuth: true });
