import { buildWorld } from './helpers/factories';
import { dataOf, startTestApp, type TestApp } from './helpers/testApp';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

test('smoke', async () => {
  const w = await buildWorld(t);
  const res = await t.gql(`query($id: ID!) { board(id: $id) { name space { name organization { name viewerRole } } items { edges { node { name board { id } } } } } }`, { id: w.boardA1 }, w.owner.token);
  console.log(JSON.stringify(res.body));
  dataOf(res);
});
