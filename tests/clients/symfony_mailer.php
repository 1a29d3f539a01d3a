<?php
// Symfony Mailer's SendmailTransport (Debian's php-symfony-mailer and its
// autoloader), as Laravel's MAIL_MAILER=sendmail uses it. spec.command is
// the transport's command: "SENDMAIL -bs" (the default's flags), "SENDMAIL
// -bs -i" (Laravel's default) or "SENDMAIL -oi -t".
// Usage: php symfony_mailer.php SPEC.json
require_once '/usr/share/php/Symfony/Component/Mailer/autoload.php';

use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mime\Address;
use Symfony\Component\Mime\Email;

$spec = json_decode(file_get_contents($argv[1]), true, 512, JSON_THROW_ON_ERROR);
$email = (new Email())
    ->from(new Address($spec['sender'], $spec['from_name']))
    ->subject($spec['subject'])
    ->text($spec['body']);
foreach ($spec['to'] as $to) $email->addTo($to);
foreach ($spec['bcc'] ?? [] as $bcc) $email->addBcc($bcc);
(new Mailer(new SendmailTransport($spec['command'])))->send($email);
