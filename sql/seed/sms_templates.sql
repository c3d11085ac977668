-- SMS templates, DLT style: each {#var#} is a variable of at most 30 characters.
INSERT INTO sms_template (code, language, body) VALUES
('otp', 'en', '{#code#} is your Mitan login code. It is valid for 10 minutes. Do not share it with anyone, not even a Mitan agent.'),
('otp', 'hi', '{#code#} आपका मितान लॉगिन कोड है। यह 10 मिनट तक मान्य है। इसे किसी को न बताएं, मितान कर्मचारी को भी नहीं।'),
('booking_confirmed', 'en', 'Mitan: home visit for {#service#} booked for {#name#} on {#window#}. Ref {#ref#}. Keep ready: {#docs#}. Fee Rs {#fee#}. Track: {#url#}'),
('booking_confirmed', 'hi', 'मितान: {#name#} के लिए {#service#} हेतु घर पर भेंट {#window#} को तय है। संदर्भ {#ref#}। तैयार रखें: {#docs#}। शुल्क रु {#fee#}। स्थिति: {#url#}'),
('booking_rescheduled', 'en', 'Mitan: the home visit {#ref#} for {#service#} is moved to {#window#}.'),
('booking_rescheduled', 'hi', 'मितान: {#service#} की घर पर भेंट {#ref#} अब {#window#} को होगी।'),
('booking_cancelled', 'en', 'Mitan: the home visit {#ref#} for {#service#} on {#window#} is cancelled.'),
('booking_cancelled', 'hi', 'मितान: {#service#} की घर पर भेंट {#ref#} ({#window#}) रद्द कर दी गई है।')
ON CONFLICT (code, language) DO UPDATE SET body = EXCLUDED.body;
