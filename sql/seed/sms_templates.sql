-- SMS templates, DLT style: each {#var#} is a variable of at most 30 characters (the
-- tracking link {#url#} is DLT's URL type, whitelisted, up to 100). Registered text: what is
-- here is what the gateway's DLT template ids (MITAN_SMS_DLT_TEMPLATES) must match.
INSERT INTO sms_template (code, language, body) VALUES
('otp', 'en', '{#code#} is your Mitan login code. It is valid for 10 minutes. Do not share it with anyone, not even a Mitan agent.'),
('otp', 'hi', '{#code#} आपका मितान लॉगिन कोड है। यह 10 मिनट तक मान्य है। इसे किसी को न बताएं, मितान कर्मचारी को भी नहीं।'),
('booking_confirmed', 'en', 'Mitan: home visit for {#service#} booked for {#name#} on {#window#}. Ref {#ref#}. Keep ready: {#docs#}. Fee Rs {#fee#}. Track: {#url#}'),
('booking_confirmed', 'hi', 'मितान: {#name#} के लिए {#service#} हेतु घर पर भेंट {#window#} को तय है। संदर्भ {#ref#}। तैयार रखें: {#docs#}। शुल्क रु {#fee#}। स्थिति: {#url#}'),
('booking_rescheduled', 'en', 'Mitan: the home visit {#ref#} for {#service#} is moved to {#window#}.'),
('booking_rescheduled', 'hi', 'मितान: {#service#} की घर पर भेंट {#ref#} अब {#window#} को होगी।'),
('booking_cancelled', 'en', 'Mitan: the home visit {#ref#} for {#service#} on {#window#} is cancelled.'),
('booking_cancelled', 'hi', 'मितान: {#service#} की घर पर भेंट {#ref#} ({#window#}) रद्द कर दी गई है।'),
('visit_day', 'en', 'Mitan: today {#window#} {#agent#} will visit for {#service#}, ref {#ref#}. Visit code {#code#}: tell it only to {#agent#} at the door; their app confirms it.'),
('visit_day', 'hi', 'मितान: आज {#window#} {#agent#} {#service#} के लिए आपके घर आएंगे, संदर्भ {#ref#}। भेंट कोड {#code#}: यह केवल दरवाज़े पर {#agent#} को बताएं; उनका ऐप इसकी पुष्टि करेगा।'),
('booking_reassigned', 'en', 'Mitan: for your visit {#ref#} on {#window#} the agent is now {#agent#}. New visit code {#code#}; the earlier code no longer works.'),
('booking_reassigned', 'hi', 'मितान: {#window#} की भेंट {#ref#} के लिए अब {#agent#} आएंगे। नया भेंट कोड {#code#}; पुराना कोड अब मान्य नहीं है।'),
('booking_status', 'en', 'Mitan: {#service#}, ref {#ref#}: {#status#}.'),
('booking_status', 'hi', 'मितान: {#service#}, संदर्भ {#ref#}: {#status#}।'),
('visit_reminder', 'en', 'Mitan reminder: home visit for {#service#} tomorrow, {#window#}. Ref {#ref#}. Keep ready: {#docs#}.'),
('visit_reminder', 'hi', 'मितान अनुस्मारक: {#service#} हेतु घर पर भेंट कल, {#window#}। संदर्भ {#ref#}। तैयार रखें: {#docs#}।'),
('sla_reminder', 'en', 'Mitan: case {#ref#} ({#service#}, {#zone#}) reaches its time limit on {#due#}. Please act.'),
('sla_reminder', 'hi', 'मितान: प्रकरण {#ref#} ({#service#}, {#zone#}) की समय-सीमा {#due#} को पूरी होगी। कृपया कार्यवाही करें।'),
('sla_escalated', 'en', 'Mitan escalation: case {#ref#} ({#service#}, {#zone#}) passed its time limit on {#due#}.'),
('sla_escalated', 'hi', 'मितान: प्रकरण {#ref#} ({#service#}, {#zone#}) की समय-सीमा {#due#} को पार हो गई। ज़िला स्तर पर भेजा गया।'),
('sla_resident_reminder', 'en', 'Mitan: the resident sent a reminder on case {#ref#} ({#service#}, {#zone#}): {#status#}, due {#due#}.'),
('sla_resident_reminder', 'hi', 'मितान: आवेदक ने प्रकरण {#ref#} ({#service#}, {#zone#}) पर अनुस्मारक भेजा: {#status#}, समय-सीमा {#due#}।'),
('reminder_ack', 'en', 'Mitan: your reminder on {#ref#} ({#status#}) has been sent to the nodal officer.'),
('reminder_ack', 'hi', 'मितान: {#ref#} ({#status#}) पर आपका अनुस्मारक नोडल अधिकारी को भेज दिया गया है।')
ON CONFLICT (code, language) DO UPDATE SET body = EXCLUDED.body;
