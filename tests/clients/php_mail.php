<?php
// PHP's mail() as an application calls it: sendmail_path comes from php.ini
// (the test passes -d sendmail_path=...), -f in the fifth argument.
// Usage: php -d sendmail_path=CMD php_mail.php SPEC.json
$spec = json_decode(file_get_contents($argv[1]), true, 512, JSON_THROW_ON_ERROR);
$headers = ['From' => $spec['from_header']];
$ok = mail(implode(', ', $spec['to']), $spec['subject'], $spec['body'], $headers,
           '-f' . $spec['sender']);
if (!$ok) {
    fwrite(STDERR, "php_mail.php: mail() returned false\n");
    exit(1);
}
