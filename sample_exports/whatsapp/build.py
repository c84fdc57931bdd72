# ruff: noqa: E501  (the chat text below is data: one export line per source line)
"""Write the synthetic WhatsApp sample exports of this folder (run from anywhere):

    python sample_exports/whatsapp/build.py

All content is made up (people, companies, ISINs, places). Each sample shows what a real
"Export chat" of that kind looks like, awkward parts included:

* ``WhatsApp Chat with Deal Desk EMEA.txt``: Android, English, 12-hour clock with U+202F
  before AM/PM, exported without media. A bond-trading desk group: order ticket,
  ``<Media omitted>``, a deleted and an edited message, a poll, a location, group events,
  a security-code change and two messages out of time order.
* ``WhatsApp Chat - Projekt Nordlicht.zip``: iOS, German, ``_chat.txt`` (CRLF) with media
  (a PNG, a PDF with a page count, a contact card). An M&A deal team: group events with
  the group name in the author slot, a missed call, deleted and edited messages.
* ``Conversa do WhatsApp com Clínica Sorriso.txt``: Android, Portuguese (Brazil), 24-hour
  clock, no comma after the date. A dental clinic's reception group arranging patient
  appointments.
* ``WhatsApp Chat - Marcus Lee.zip``: iOS, English, a 1:1 chat between a private-bank
  adviser and a client, exported without media (``image omitted``, a document omitted);
  the encryption notice sits under the client's name, as iOS writes it.

The zips are deterministic: members in a fixed order with a fixed timestamp and mode.
The outputs are committed, so ``make demo`` needs no build step;
``tests/parsers/test_whatsapp_samples.py`` checks they match this script.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ZIP_TIME = (2024, 5, 7, 18, 0, 0)
NNBSP = "\u202f"  # narrow no-break space, before AM/PM on 2023+ phones
LRM = "\u200e"  # left-to-right mark iOS writes before system text and attachments


def _deal_desk() -> str:
    am, pm = f"{NNBSP}AM", f"{NNBSP}PM"
    return f"""\
3/25/24, 8:02{am} - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more.
3/25/24, 8:02{am} - Priya Nair created group "Deal Desk"
3/25/24, 8:02{am} - Priya Nair added you
3/25/24, 8:03{am} - Priya Nair added Tom Becker and +44 7700 900123
3/25/24, 8:05{am} - Priya Nair: Morning all. This group is for the desk only, client names as initials please. Everything here is archived.
3/25/24, 8:07{am} - Tom Becker: Noted 👍
3/25/24, 8:15{am} - +44 7700 900123: KH (Halvorsen Capital) asking for a bid on 5mm XS2291845372, the 2029s. Screen is 98.40 / 98.65
3/25/24, 8:16{am} - Priya Nair: We can show 98.35 for the full size. Check limits first.
3/25/24, 8:21{am} - Tom Becker: Limit check OK, counterparty approved until 30/06.
3/25/24, 8:24{am} - Sam O'Neill: Order ticket:
Client: KH / Halvorsen Capital
Side: we BUY from client
ISIN: XS2291845372
Nominal: 5,000,000
Price: 98.35

Settlement: T+2 (27/03)
3/25/24, 8:26{am} - Priya Nair: Confirmed with the client on a recorded line. Booking now.
3/25/24, 8:31{am} - Tom Becker: <Media omitted>
3/25/24, 8:31{am} - Tom Becker: Booking screenshot, ref TRD-240325-0418
3/25/24, 8:40{am} - +44 7700 900123: This message was deleted
3/25/24, 8:41{am} - +44 7700 900123: Sorry, wrong chat. Please ignore.
3/25/24, 9:02{am} - Sam O'Neill: Settlement instructions sent to ops, price 98.35 <This message was edited>
3/25/24, 11:47{am} - Priya Nair: POLL:
Desk lunch with Halvorsen on Thursday?
OPTION: Yes, 12:30 (2 votes)
OPTION: Only after 1pm (1 vote)
OPTION: Can't make it (0 votes)
3/25/24, 12:05{pm} - Tom Becker: location: https://maps.google.com/?q=51.5136,-0.0890
3/25/24, 12:06{pm} - Tom Becker: That's the place, two minutes from Bank station.
3/25/24, 4:58{pm} - Priya Nair changed the subject from "Deal Desk" to "Deal Desk EMEA"
3/25/24, 4:58{pm} - Priya Nair changed this group's icon
3/26/24, 7:55{am} - Your security code with +44 7700 900123 changed. Tap to learn more.
3/26/24, 8:10{am} - +44 7700 900123: Halvorsen wants to roll the remaining 2mm into next week.
3/26/24, 8:09{am} - Tom Becker: Heads up, TRD-240325-0418 settled fine.
3/26/24, 8:12{am} - Sam O'Neill: Fine, but that is a new ticket with a new approval.
Reminder: 10:30 call with compliance on the KH exposure report.
3/26/24, 10:30{am} - Priya Nair: Compliance asks us to keep trade chat here, not on personal numbers.
3/26/24, 12:00{pm} - Tom Becker: Lunch Thursday 12:30 is booked.
3/26/24, 5:44{pm} - +44 7700 900123 left
"""


def _nordlicht() -> str:
    g = "Projekt Nordlicht"
    return f"""\
[06.05.24, 09:58:11] {g}: {LRM}Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Nur Personen in diesem Chat können sie lesen, anhören oder teilen.
[06.05.24, 09:58:11] {g}: {LRM}Dr. Jana Keller hat die Gruppe „{g}“ erstellt.
[06.05.24, 09:58:12] {g}: {LRM}Dr. Jana Keller hat dich hinzugefügt.
[06.05.24, 09:58:40] {g}: {LRM}Dr. Jana Keller hat Lukas Brandt hinzugefügt.
[06.05.24, 10:02:03] Dr. Jana Keller: Guten Morgen zusammen. Codename für die Übernahme der Küstenwerk GmbH ist ab sofort „Nordlicht“. Bitte keine Klarnamen in Mails.
[06.05.24, 10:05:47] Lukas Brandt: Verstanden. Der Datenraum ist ab 14 Uhr offen.
[06.05.24, 10:15:22] Lukas Brandt: {LRM}<Anhang: 00000012-PHOTO-2024-05-06-10-15-22.png>
[06.05.24, 10:16:01] Lukas Brandt: Screenshot vom Zeitplan, Signing ist für den 24.05. geplant.
[06.05.24, 10:40:31] Markus Vogt: Angebot Nordlicht.pdf • 1 Seite {LRM}<Anhang: 00000014-Angebot Nordlicht.pdf>
[06.05.24, 10:52:09] Dr. Jana Keller: Kaufpreis 48,5 Mio. EUR plus Earn-out, Exklusivität bis 31.05.
Bitte nichts davon außerhalb dieser Gruppe.
[06.05.24, 11:03:44] Markus Vogt: {LRM}Diese Nachricht wurde gelöscht.
[06.05.24, 11:04:02] Markus Vogt: Korrektur: Earn-out maximal 6 Mio. <Diese Nachricht wurde bearbeitet>
[06.05.24, 11:30:15] Lukas Brandt: {LRM}Verpasster Sprachanruf
[06.05.24, 11:31:09] Dr. Jana Keller: Kontakt beim Verkäufer:
[06.05.24, 11:31:10] Dr. Jana Keller: {LRM}<Anhang: 00000016-Thomas Reuter.vcf>
[06.05.24, 13:12:58] Lukas Brandt: Standort: https://maps.google.com/?q=53.5511,9.9937
[06.05.24, 13:13:20] Lukas Brandt: Treffen im Büro des Verkäufers, 3. OG.
[06.05.24, 17:45:00] {g}: {LRM}Dr. Jana Keller hat die Gruppenbeschreibung geändert.
[07.05.24, 08:01:33] {g}: {LRM}Dein Sicherheitscode für Markus Vogt hat sich geändert. Tippe, um mehr zu erfahren.
[07.05.24, 09:20:41] {g}: {LRM}Dr. Jana Keller hat Sven Albrecht entfernt.
[13.05.24, 16:02:19] Markus Vogt: Käufer-Due-Diligence abgeschlossen, keine Red Flags. Vertragsentwurf kommt morgen.
[21.05.24, 08:45:37] Dr. Jana Keller: Signing bleibt am 24.05., 10 Uhr, Notariat Hamburg.
[21.05.24, 08:46:02] {g}: {LRM}Lukas Brandt hat die Gruppe verlassen.
"""


def _clinic() -> str:
    return """\
15/04/2024 08:30 - As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta e ficam somente entre você e os participantes desta conversa. Nem mesmo o WhatsApp pode ler ou ouvi-las. Toque para saber mais.
15/04/2024 08:30 - Você criou o grupo "Clínica Sorriso"
15/04/2024 08:31 - Você adicionou Dra. Helena Costa e Rafael Lima
15/04/2024 08:45 - Bruna Alves: Bom dia! A paciente M.S. (prontuário 4471) pediu para remarcar a consulta de quinta.
15/04/2024 08:52 - Dra. Helena Costa: Pode passar para sexta às 14h. Ela precisa vir em jejum? Não, é só revisão do implante.
15/04/2024 08:53 - Rafael Lima: Agenda de sexta:
14:00 M.S. revisão implante (Dra. Helena)
15:30 J.P. limpeza
16:15 livre
15/04/2024 09:10 - Bruna Alves: <Mídia omitida>
15/04/2024 09:10 - Bruna Alves: Foto do pedido do convênio, autorização 88213-B
15/04/2024 11:02 - Dra. Helena Costa: Lembrem de não mandar exames por aqui, só pelo sistema.
16/04/2024 17:40 - Rafael Lima: Confirmado com a paciente por telefone: sexta 19/04 às 14:00.
"""


def _marcus() -> str:
    return f"""\
[2/12/24, 4:19:15 PM] Marcus Lee: {LRM}Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.
[2/12/24, 4:19:40 PM] Marcus Lee: Hi Rosa, it's Marcus from Lee Family Office. David gave me your number.
[2/12/24, 4:21:02 PM] Rosa Alvarez: Hi Marcus, welcome. For anything trade related please also email me, but chat is fine for quick questions.
[2/12/24, 4:25:33 PM] Marcus Lee: Can you sell 1,200 NVDA at market tomorrow at the open?
[2/12/24, 4:26:10 PM] Rosa Alvarez: I need that confirmed on a recorded line or by email, I can't take orders on WhatsApp. I'll call you at 9:00.
[2/13/24, 9:02:12 AM] Marcus Lee: {LRM}Voice call. 4 min
[2/13/24, 9:07:55 AM] Rosa Alvarez: Order confirmed on the recorded line: sell 1,200 NVDA at market, ref ORD-77310.
[2/13/24, 9:31:20 AM] Marcus Lee: {LRM}image omitted
[2/13/24, 9:31:41 AM] Marcus Lee: Is this the fill? Looks lower than the screen price.
[2/13/24, 9:40:02 AM] Rosa Alvarez: Yes, average 721.40. The contract note follows by email.
[2/13/24, 9:40:30 AM] Rosa Alvarez: {LRM}Contract note ORD-77310.pdf • 2 pages document omitted
[2/13/24, 9:45:12 AM] Marcus Lee: {LRM}This message was deleted.
[2/13/24, 9:46:00 AM] Marcus Lee: Thanks. Let's talk about the bond ladder next week <This message was edited>
[2/13/24, 12:01:18 PM] Rosa Alvarez: Sure. Tuesday 3pm?
Agenda:
1. Bond ladder 2025-2030
2. Cash buffer
"""


def _png() -> bytes:
    """An 8x8 PNG (a small orange square), stored uncompressed so the bytes do not depend
    on the zlib version."""
    width = height = 8
    raw = b"".join(b"\x00" + bytes((240, 120, 30)) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 0))
        + chunk(b"IEND", b"")
    )


def _pdf(text: str) -> bytes:
    """A one-page PDF with one line of text and a correct cross-reference table."""
    stream = f"BT /F1 14 Tf 72 770 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _vcard(name: str, phone: str, org: str) -> bytes:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{name}", f"ORG:{org}", f"TEL;TYPE=CELL:{phone}"]
    return ("\r\n".join([*lines, "END:VCARD"]) + "\r\n").encode("utf-8")


def outputs() -> dict[str, bytes | list[tuple[str, bytes]]]:
    """File name -> bytes (a lone .txt) or the members of a zip, in order."""
    return {
        "WhatsApp Chat with Deal Desk EMEA.txt": _deal_desk().encode("utf-8"),
        "WhatsApp Chat - Projekt Nordlicht.zip": [
            ("_chat.txt", _nordlicht().replace("\n", "\r\n").encode("utf-8")),
            ("00000012-PHOTO-2024-05-06-10-15-22.png", _png()),
            ("00000014-Angebot Nordlicht.pdf", _pdf("Angebot Projekt Nordlicht - vertraulich")),
            ("00000016-Thomas Reuter.vcf", _vcard("Thomas Reuter", "+49 40 5550 1234", "Kuestenwerk GmbH")),
        ],
        "Conversa do WhatsApp com Clínica Sorriso.txt": _clinic().encode("utf-8"),
        "WhatsApp Chat - Marcus Lee.zip": [("_chat.txt", _marcus().encode("utf-8"))],
    }  # fmt: skip


def write_zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, data)


def build(folder: Path = HERE) -> list[Path]:
    written = []
    for name, content in outputs().items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            write_zip(path, content)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in build():
        print(f"{path.stat().st_size:7d}  {path.name}")
