<?php
// PHPMailer (Debian's libphp-phpmailer): isSendmail() takes the sendmail
// command from php.ini's sendmail_path (the test passes -d sendmail_path=...)
// and runs it with "-oi -fSENDER -t"; isSMTP() talks to spec.smtp_port on
// 127.0.0.1 (mailqd's TCP door), without AUTH or TLS.
// Usage: php phpmailer_send.php SPEC.json
require_once '/usr/share/php/libphp-phpmailer/autoload.php';

use PHPMailer\PHPMailer\PHPMailer;

$spec = json_decode(file_get_contents($argv[1]), true, 512, JSON_THROW_ON_ERROR);
$mail = new PHPMailer(true);
if ($spec['mode'] === 'smtp') {
    $mail->isSMTP();
    $mail->Host = '127.0.0.1';
    $mail->Port = $spec['smtp_port'];
    $mail->SMTPAuth = false;
    $mail->SMTPAutoTLS = false;
} else {
    $mail->isSendmail();
}
$mail->CharSet = PHPMailer::CHARSET_UTF8;
$mail->setFrom($spec['sender'], $spec['from_name']);
foreach ($spec['to'] as $to) $mail->addAddress($to);
foreach ($spec['bcc'] ?? [] as $bcc) $mail->addBCC($bcc);
$mail->Subject = $spec['subject'];
$mail->Body = $spec['body'];
$mail->send();
