// nodemailer (npm, installed here by scripts/setup): the sendmail transport
// (spec.sendmail: the command's path; nodemailer runs it with
// "-i -f SENDER RCPT...") or the SMTP transport to spec.smtp_port on
// 127.0.0.1 (mailqd's TCP door), without AUTH or TLS.
// Usage: node nodemailer_send.js SPEC.json
'use strict';
const fs = require('fs');
const nodemailer = require('nodemailer');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const transport = spec.mode === 'smtp'
    ? nodemailer.createTransport({host: '127.0.0.1', port: spec.smtp_port, secure: false,
                                  ignoreTLS: true})
    : nodemailer.createTransport({sendmail: true, path: spec.sendmail, newline: 'unix'});
transport.sendMail({
    from: {name: spec.from_name, address: spec.sender},
    to: spec.to,
    bcc: spec.bcc || [],
    subject: spec.subject,
    text: spec.body,
}).then(info => {
    console.log(JSON.stringify({messageId: info.messageId, response: info.response || null}));
}, err => {
    console.error(`nodemailer_send.js: ${err.message}`);
    process.exit(1);
});
