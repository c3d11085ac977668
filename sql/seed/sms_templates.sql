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

-- Grievances and appeals (sql/005_grievance.sql): to the resident at every step,
-- and to the authority who must answer. {#ref#} is the grievance (GV-…), {#booking#} the
-- visit (MT-…), {#tier#} the authority, {#due#} a deadline with its zone, {#decision#} and
-- {#kind#} short labels.
INSERT INTO sms_template (code, language, body) VALUES
('grievance_raised', 'en', 'Mitan: your grievance {#ref#} about visit {#booking#} is registered with the {#tier#}. An answer is due by {#due#}.'),
('grievance_raised', 'hi', 'मितान: भेंट {#booking#} पर आपकी शिकायत {#ref#} {#tier#} के पास दर्ज हो गई है। उत्तर {#due#} तक मिलेगा।'),
('grievance_answered', 'en', 'Mitan: the {#tier#} answered your grievance {#ref#}: {#decision#}. Not satisfied? Appeal in the Mitan app or at the helpline.'),
('grievance_answered', 'hi', 'मितान: {#tier#} ने आपकी शिकायत {#ref#} का उत्तर दिया: {#decision#}। संतुष्ट नहीं हैं? मितान ऐप या हेल्पलाइन से अपील करें।'),
('grievance_answered_final', 'en', 'Mitan: the {#tier#} answered your grievance {#ref#}: {#decision#}. This is the final answer.'),
('grievance_answered_final', 'hi', 'मितान: {#tier#} ने आपकी शिकायत {#ref#} का उत्तर दिया: {#decision#}। यह अंतिम उत्तर है।'),
('grievance_appealed', 'en', 'Mitan: your appeal on grievance {#ref#} is with the {#tier#}. An answer is due by {#due#}.'),
('grievance_appealed', 'hi', 'मितान: शिकायत {#ref#} पर आपकी अपील {#tier#} के पास है। उत्तर {#due#} तक मिलेगा।'),
('grievance_escalated', 'en', 'Mitan: grievance {#ref#} was not answered in time and has gone to the {#tier#}. An answer is due by {#due#}.'),
('grievance_escalated', 'hi', 'मितान: शिकायत {#ref#} का उत्तर समय पर नहीं मिला, इसलिए इसे {#tier#} को भेजा गया है। उत्तर {#due#} तक मिलेगा।'),
('grievance_flagged', 'en', 'Mitan: grievance {#ref#} has passed the time limit of the {#tier#}. It is flagged to the district committee.'),
('grievance_flagged', 'hi', 'मितान: शिकायत {#ref#} पर {#tier#} की समय-सीमा पार हो गई है। इसे ज़िला समिति के ध्यान में लाया गया है।'),
('grievance_closed', 'en', 'Mitan: grievance {#ref#} is closed at your request. Thank you.'),
('grievance_closed', 'hi', 'मितान: आपके अनुरोध पर शिकायत {#ref#} बंद कर दी गई है। धन्यवाद।'),
('grievance_assigned', 'en', 'Mitan: grievance {#ref#} ({#kind#}, booking {#booking#}) awaits your answer as the {#tier#} by {#due#}.'),
('grievance_assigned', 'hi', 'मितान: शिकायत {#ref#} ({#kind#}, भेंट {#booking#}) पर {#tier#} के रूप में आपका उत्तर {#due#} तक अपेक्षित है।'),
('grievance_reminder', 'en', 'Mitan reminder: grievance {#ref#} ({#kind#}) must be answered by {#due#}.'),
('grievance_reminder', 'hi', 'मितान अनुस्मारक: शिकायत {#ref#} ({#kind#}) का उत्तर {#due#} तक देना है।'),
('grievance_overdue', 'en', 'Mitan: grievance {#ref#} ({#kind#}) passed its time limit on {#due#} and is flagged to the district committee.'),
('grievance_overdue', 'hi', 'मितान: शिकायत {#ref#} ({#kind#}) की समय-सीमा {#due#} को पार हो गई; इसे ज़िला समिति के ध्यान में लाया गया है।')
ON CONFLICT (code, language) DO UPDATE SET body = EXCLUDED.body;
