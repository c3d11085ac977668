// The service catalogue in English and Hindi, with documents, fees and SLAs; a booking
// lists its service's documents with their mandatory flags. Zone RPR-Z6, day +9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, ZONES, bookingBody, isError, residentLogin, setWindowFree, sqlValue, windowStart } from './lib.mjs';

const DEVANAGARI = /[\u0900-\u097F]/;

test('GET /services lists at least 30 active services, each complete in both languages', async () => {
  const r = await api('GET', '/api/v1/services');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const services = r.json;
  assert.ok(Array.isArray(services) && services.length >= 30, `${services.length} services`);
  assert.equal(services.length, Number(sqlValue('SELECT count(*) FROM service WHERE active')));
  assert.equal(new Set(services.map((s) => s.code)).size, services.length);
  let optional = 0;
  for (const s of services) {
    assert.match(s.code, /^[a-z0-9_]{2,40}$/);
    assert.ok(typeof s.name_en === 'string' && /[A-Za-z]/.test(s.name_en), `${s.code}: name_en`);
    assert.ok(typeof s.name_hi === 'string' && DEVANAGARI.test(s.name_hi), `${s.code}: name_hi ${s.name_hi}`);
    assert.equal(s.name, s.name_en, 'English by default');
    assert.ok(Number.isInteger(s.fee_paise) && s.fee_paise >= 0, `${s.code}: fee_paise ${s.fee_paise}`);
    assert.ok(Number.isInteger(s.sla_days) && s.sla_days > 0, `${s.code}: sla_days`);
    assert.ok(Array.isArray(s.documents) && s.documents.length > 0, `${s.code}: documents`);
    assert.ok(s.documents.some((d) => d.mandatory === true), `${s.code}: no mandatory document`);
    for (const d of s.documents) {
      assert.equal(typeof d.mandatory, 'boolean');
      assert.ok(d.code && d.name_en && DEVANAGARI.test(d.name_hi), `${s.code}/${d.code}`);
      if (!d.mandatory) optional++;
    }
  }
  assert.ok(optional > 0, 'some documents are optional');
  for (const code of ['income_certificate', 'birth_certificate', 'marriage_registration', 'property_tax_payment',
    'aadhaar_update', 'shop_registration', 'death_certificate_correction'])
    assert.ok(services.some((s) => s.code === code), code);
});

test('?lang=hi puts Hindi in name', async () => {
  const hi = (await api('GET', '/api/v1/services?lang=hi')).json;
  assert.ok(hi.length >= 30);
  for (const s of hi) {
    assert.equal(s.name, s.name_hi);
    assert.match(s.name, DEVANAGARI);
    for (const d of s.documents) assert.equal(d.name, d.name_hi);
  }
  const one = await api('GET', '/api/v1/services/income_certificate?lang=hi');
  assert.equal(one.status, 200);
  assert.equal(one.json.name, one.json.name_hi);
  const en = await api('GET', '/api/v1/services/income_certificate?lang=xx');
  assert.equal(en.json.name, en.json.name_en);
});

test('one service by code; an unknown one is 404', async () => {
  const r = await api('GET', '/api/v1/services/income_certificate');
  assert.equal(r.status, 200);
  assert.equal(r.json.code, 'income_certificate');
  assert.ok(r.json.documents.length > 0);
  isError(await api('GET', '/api/v1/services/no_such_service'), 404, 'not_found');
  isError(await api('GET', "/api/v1/services/x'%20OR%20'1'='1"), 404, 'not_found');
});

test('a booking lists its service documents with the mandatory flags of the catalogue', async () => {
  setWindowFree('RPR-Z6', windowStart(9, 14), [2, 2, 2, 0]);
  const { token } = await residentLogin();
  const service = 'birth_certificate';
  const catalogue = (await api('GET', `/api/v1/services/${service}`)).json;
  const r = await api('POST', '/api/v1/bookings', {
    token, body: bookingBody(windowStart(9, 14), { service, location: ZONES['RPR-Z6'] }) });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.fee_paise, catalogue.fee_paise);
  const shape = (docs) => docs.map((d) => [d.code, d.mandatory]);
  assert.deepEqual(shape(r.json.documents), shape(catalogue.documents));
  assert.ok(r.json.documents.some((d) => d.mandatory) && r.json.documents.some((d) => !d.mandatory));
  assert.equal(r.json.service.code, service);
  const again = await api('GET', `/api/v1/bookings/${r.json.reference}?lang=hi`, { token });
  assert.deepEqual(shape(again.json.documents), shape(catalogue.documents));
  for (const d of again.json.documents) assert.match(d.name, DEVANAGARI);
});
