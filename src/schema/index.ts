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

export const schema = builder.toSchema({ sortSchema: false });
