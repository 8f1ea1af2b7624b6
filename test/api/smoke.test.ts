import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';

describe('API smoke', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture();
  });
  afterAll(async () => f.close());

  it('reads a patient of its own tenant and 404s another tenant', async () => {
    const { token } = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    const own = f.lab.patients.get('screening')?.[0] as string;
    const other = f.lab.patients.get('hospital-west')?.[0] as string;
    const r = await f.app.inject({ url: `/fhir/Patient/${own}`, headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ resourceType: 'Patient', id: own });
    const x = await f.app.inject({ url: `/fhir/Patient/${other}`, headers: { authorization: `Bearer ${token}` } });
    expect(x.statusCode).toBe(404);
    expect(x.json()).toMatchObject({ resourceType: 'OperationOutcome' });
  });
});
