-- The demo city: Raipur (Chhattisgarh), one district, six zones of the municipal
-- corporation covering lat 21.19–21.31, lon 81.57–81.69, four windows a day, 24 agents.
-- Agents get their passwords and shifts from `mitan seed --demo`.
INSERT INTO district (code, name_en, name_hi, time_zone)
VALUES ('RPR', 'Raipur', 'रायपुर', 'Asia/Kolkata')
ON CONFLICT (code) DO NOTHING;

INSERT INTO zone (district_id, code, name_en, name_hi, area)
SELECT d.id, z.code, z.name_en, z.name_hi,
       ST_Multi(ST_MakeEnvelope(z.lon0, z.lat0, z.lon1, z.lat1, 4326))
  FROM district d,
       (VALUES ('RPR-Z1', 'Zone 1 Gudhiyari', 'ज़ोन 1 गुढ़ियारी', 81.57, 21.25, 81.61, 21.31),
               ('RPR-Z2', 'Zone 2 Pandri', 'ज़ोन 2 पंडरी', 81.61, 21.25, 81.65, 21.31),
               ('RPR-Z3', 'Zone 3 Shankar Nagar', 'ज़ोन 3 शंकर नगर', 81.65, 21.25, 81.69, 21.31),
               ('RPR-Z4', 'Zone 4 Tatibandh', 'ज़ोन 4 टाटीबंध', 81.57, 21.19, 81.61, 21.25),
               ('RPR-Z5', 'Zone 5 Civil Lines', 'ज़ोन 5 सिविल लाइन्स', 81.61, 21.19, 81.65, 21.25),
               ('RPR-Z6', 'Zone 6 Telibandha', 'ज़ोन 6 तेलीबांधा', 81.65, 21.19, 81.69, 21.25))
         AS z(code, name_en, name_hi, lon0, lat0, lon1, lat1)
 WHERE d.code = 'RPR'
ON CONFLICT (code) DO NOTHING;

INSERT INTO slot_template (zone_id, window_no, start_local, end_local)
SELECT z.id, w.no, w.s, w.e
  FROM zone z,
       (VALUES (1, time '09:00', time '11:00'), (2, '11:00', '13:00'),
               (3, '14:00', '16:00'), (4, '16:00', '18:00')) AS w(no, s, e)
 WHERE z.code LIKE 'RPR-%'
ON CONFLICT (zone_id, window_no) DO NOTHING;

-- Four agents per zone, spread over the zone. The fourth of each zone does revenue and
-- municipal work only; the others do every service.
INSERT INTO agent (code, password_hash, name, phone, district_id, zone_id, base, skills)
SELECT format('RPR-A%s', lpad((zi * 4 + k + 1)::text, 2, '0')), '!', n.name,
       format('+9198270%s', lpad((zi * 4 + k + 1)::text, 5, '0')), z.district_id, z.id,
       ST_SetSRID(ST_MakePoint(ST_XMin(z.area) + 0.01 + 0.02 * (k % 2) + 0.004 * zi,
                               ST_YMin(z.area) + 0.015 + 0.025 * (k / 2)), 4326)::geography,
       CASE WHEN k = 3 THEN '{revenue,municipal}'::text[] ELSE '{*}'::text[] END
  FROM (SELECT z.*, row_number() OVER (ORDER BY z.code) - 1 AS zi FROM zone z WHERE z.code LIKE 'RPR-%') z
  CROSS JOIN generate_series(0, 3) AS k
  JOIN LATERAL (SELECT (ARRAY['Ramesh Sahu', 'Sunita Verma', 'Mohan Yadav', 'Kavita Sinha', 'Dinesh Patel',
                              'Rekha Dewangan', 'Anil Tandon', 'Pooja Chandrakar', 'Suresh Nishad',
                              'Meena Sonkar', 'Vikas Sharma', 'Lata Markam', 'Rajesh Banjare', 'Geeta Kurre',
                              'Santosh Dhruw', 'Asha Thakur', 'Manoj Kashyap', 'Nirmala Netam', 'Ajay Baghel',
                              'Kiran Sahu', 'Deepak Verma', 'Savita Patel', 'Ravi Yadav', 'Usha Tiwari'])
                             [zi * 4 + k + 1] AS name) n ON true
ON CONFLICT (code) DO NOTHING;
