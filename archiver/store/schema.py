"""The archive schema, as data: numbered migrations applied in order inside SQLCipher.

``PRAGMA user_version`` holds the number of the last migration applied. A migration is a
list of SQL statements run in one transaction together with its audit entry. Never edit
a released migration; add the next one.

Conventions: times are INTEGER unix seconds (UTC) unless the column name ends in
``_text``; hashes of files are lowercase hex TEXT; message fingerprints are BLOBs;
JSON documents are TEXT.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from archiver.core.names import custodian_name

_NAME_SEPARATORS = re.compile(r"[\s_\-\u2010-\u2015\u2212]+")


def hold_name_key(name: str) -> str:
    """A hold name's normal form, unique among holds: Unicode NFKC, casefolded, every
    run of spaces, hyphens, dashes and underscores made one hyphen, none at either end
    (``HARLOW-TERMS``, ``Harlow Terms`` and ``harlow_terms`` are all ``harlow-terms``)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return _NAME_SEPARATORS.sub("-", folded).strip("-")


# SQL functions the migrations call; every connection registers them.
SQL_FUNCTIONS: dict[str, Callable[[str], str]] = {
    "hold_name_key": hold_name_key,
    "custodian_name": custodian_name,
}

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "archive, evidence, messages, full-text index, audit log",
        [
            # Archive-wide settings (archive_id, default_tz, created_at...).
            """CREATE TABLE meta (
                key   TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )""",
            # Secrets that live only inside the encrypted database: the Ed25519 signing
            # key and the archive secret from which audit and tombstone keys derive
            # (independent of the database key, so `key rotate` keeps the chain valid).
            """CREATE TABLE secrets (
                name  TEXT PRIMARY KEY,
                value BLOB NOT NULL
            )""",
            """CREATE TABLE custodians (
                id   INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE COLLATE NOCASE
            )""",
            # Content-addressed files (original exports, media), stored in chunks.
            """CREATE TABLE blobs (
                sha256     TEXT PRIMARY KEY,
                size       INTEGER NOT NULL,
                chunk_size INTEGER NOT NULL,
                created_at INTEGER NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE blob_chunks (
                id     INTEGER PRIMARY KEY,
                sha256 TEXT NOT NULL REFERENCES blobs(sha256),
                seq    INTEGER NOT NULL,
                data   BLOB NOT NULL,
                UNIQUE (sha256, seq)
            )""",
            # One row per ingested export (the evidence and its provenance).
            """CREATE TABLE sources (
                id             INTEGER PRIMARY KEY,
                sha256         TEXT NOT NULL,
                name           TEXT NOT NULL,
                origin_path    TEXT,
                size           INTEGER NOT NULL,
                blob_sha256    TEXT REFERENCES blobs(sha256),
                kind           TEXT NOT NULL,
                platform       TEXT NOT NULL,
                parser         TEXT NOT NULL,
                parser_version TEXT NOT NULL,
                custodian_id   INTEGER REFERENCES custodians(id),
                operator       TEXT NOT NULL,
                host           TEXT NOT NULL,
                ingested_at    INTEGER NOT NULL,
                tz             TEXT NOT NULL,
                options        TEXT NOT NULL,
                facts          TEXT NOT NULL,
                counts         TEXT NOT NULL,
                notices        TEXT NOT NULL,
                merkle_root    TEXT,
                status         TEXT NOT NULL DEFAULT 'complete',
                UNIQUE (sha256, custodian_id)
            )""",
            # Every file inside a zip or folder export, with its hash (chain of custody).
            """CREATE TABLE source_files (
                source_id INTEGER NOT NULL REFERENCES sources(id),
                path      TEXT NOT NULL,
                size      INTEGER NOT NULL,
                sha256    TEXT NOT NULL,
                role      TEXT NOT NULL,
                PRIMARY KEY (source_id, path)
            ) WITHOUT ROWID""",
            """CREATE TABLE chats (
                id       INTEGER PRIMARY KEY,
                platform TEXT NOT NULL,
                key      TEXT NOT NULL,
                title    TEXT,
                type     TEXT,
                extra    TEXT,
                UNIQUE (platform, key)
            )""",
            # People as the platform identifies them; `person_id` links spellings of one
            # human (`archiver people link`).
            """CREATE TABLE persons (
                id         INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                created_at INTEGER NOT NULL
            )""",
            """CREATE TABLE participants (
                id        INTEGER PRIMARY KEY,
                platform  TEXT NOT NULL,
                key       TEXT NOT NULL,
                name      TEXT,
                phone     TEXT,
                person_id INTEGER REFERENCES persons(id),
                UNIQUE (platform, key)
            )""",
            """CREATE INDEX participants_phone ON participants(phone) WHERE phone IS NOT NULL""",
            # Message ids are ordered by time: (sent second << 20) | sequence. FTS rowids
            # equal message ids, so date-ordered search is a rowid scan. Fingerprints need
            # no index: identical messages share a second, so dedup looks them up within
            # that second's id range (a random-key index would dominate bulk ingest).
            """CREATE TABLE messages (
                id             INTEGER PRIMARY KEY,
                fingerprint    BLOB NOT NULL,
                chat_id        INTEGER NOT NULL REFERENCES chats(id),
                msg_id         INTEGER, -- numeric ids stored as integers: index appends
                kind           TEXT NOT NULL,
                sender_id      INTEGER REFERENCES participants(id),
                sender_name    TEXT,
                sent_at        INTEGER,
                sent_at_text   TEXT,
                text           TEXT NOT NULL,
                edited         INTEGER NOT NULL DEFAULT 0,
                edited_at      INTEGER,
                reply_to       TEXT,
                forwarded_from TEXT,
                extra          TEXT,
                occurrence     INTEGER NOT NULL DEFAULT 0,
                source_id      INTEGER NOT NULL REFERENCES sources(id),
                source_line    INTEGER,
                custodian_id   INTEGER REFERENCES custodians(id),
                ingested_at    INTEGER NOT NULL,
                ingest_seq     INTEGER NOT NULL,
                version        INTEGER NOT NULL DEFAULT 1
            )""",
            """CREATE UNIQUE INDEX messages_platform_id ON messages(chat_id, msg_id)
                WHERE msg_id IS NOT NULL""",
            """CREATE INDEX messages_chat ON messages(chat_id, id)""",
            """CREATE INDEX messages_sender ON messages(sender_id, id)""",
            # The order in which an ingest added its messages (its Merkle leaves' order).
            """CREATE INDEX messages_source ON messages(source_id, ingest_seq)""",
            # Earlier texts of a message whose text changed in a later export (Telegram).
            """CREATE TABLE message_versions (
                message_id  INTEGER NOT NULL REFERENCES messages(id),
                version     INTEGER NOT NULL,
                fingerprint BLOB NOT NULL,
                kind        TEXT NOT NULL,
                text        TEXT NOT NULL,
                edited      INTEGER NOT NULL,
                edited_at   INTEGER,
                extra       TEXT,
                source_id   INTEGER NOT NULL REFERENCES sources(id),
                recorded_at INTEGER NOT NULL,
                PRIMARY KEY (message_id, version)
            ) WITHOUT ROWID""",
            # The first custodian is messages.custodian_id; every further custodian who
            # holds the same message is a row here. The view lists them all.
            """CREATE TABLE message_custodians (
                message_id   INTEGER NOT NULL REFERENCES messages(id),
                custodian_id INTEGER NOT NULL REFERENCES custodians(id),
                PRIMARY KEY (message_id, custodian_id)
            ) WITHOUT ROWID""",
            """CREATE INDEX message_custodians_by_custodian
                ON message_custodians(custodian_id, message_id)""",
            """CREATE VIEW message_custodian_ids(message_id, custodian_id) AS
                SELECT id, custodian_id FROM messages WHERE custodian_id IS NOT NULL
                UNION SELECT message_id, custodian_id FROM message_custodians""",
            # Later sightings of an archived message in other exports (the first sighting
            # is messages.source_id / source_line).
            """CREATE TABLE message_sources (
                message_id INTEGER NOT NULL REFERENCES messages(id),
                source_id  INTEGER NOT NULL REFERENCES sources(id),
                line       INTEGER,
                PRIMARY KEY (message_id, source_id)
            ) WITHOUT ROWID""",
            """CREATE TABLE attachments (
                id         INTEGER PRIMARY KEY,
                message_id INTEGER NOT NULL REFERENCES messages(id),
                ordinal    INTEGER NOT NULL,
                name       TEXT NOT NULL,
                path       TEXT,
                mime       TEXT,
                size       INTEGER,
                sha256     TEXT REFERENCES blobs(sha256),
                note       TEXT,
                UNIQUE (message_id, ordinal)
            )""",
            """CREATE INDEX attachments_sha256 ON attachments(sha256) WHERE sha256 IS NOT NULL""",
            # Input a parser could not place: kept and counted, never dropped.
            """CREATE TABLE unparsed (
                id        INTEGER PRIMARY KEY,
                source_id INTEGER NOT NULL REFERENCES sources(id),
                chat_id   INTEGER REFERENCES chats(id),
                line      INTEGER,
                reason    TEXT NOT NULL,
                raw       TEXT NOT NULL
            )""",
            # Full-text index; contentless (texts live in `messages`), rowid = message id.
            # body: text with CJK runs split out; files: attachment names; cjk: bigrams of
            # Chinese/Japanese/Korean runs, so any two-character run is findable. Rows are
            # removed with the 'delete' command and the indexed values (ftsindex.py), which
            # with secure-delete erases the terms from the index pages.
            """CREATE VIRTUAL TABLE messages_fts USING fts5(
                body, files, cjk,
                content='',
                tokenize='unicode61 remove_diacritics 2',
                prefix='3'
            )""",
            # FTS5's own secure-delete: deleted terms are removed from index pages.
            """INSERT INTO messages_fts(messages_fts, rank) VALUES ('secure-delete', 1)""",
            # Bigger in-memory term buffer: fewer, larger segments during bulk ingest.
            """INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', 16777216)""",
            # The tamper-evident audit trail: an HMAC chain (store/auditlog.py).
            """CREATE TABLE audit_log (
                seq       INTEGER PRIMARY KEY,
                at        TEXT NOT NULL,
                user      TEXT NOT NULL,
                host      TEXT NOT NULL,
                action    TEXT NOT NULL,
                args      TEXT NOT NULL,
                outcome   TEXT NOT NULL,
                details   TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash      TEXT NOT NULL
            )""",
        ],
    ),
]

MIGRATIONS.append(
    (
        2,
        "retention policies, legal holds, purges and tombstones",
        [
            # Each `policy load` stores a new version; the highest version is active.
            """CREATE TABLE policy_sets (
                version   INTEGER PRIMARY KEY,
                loaded_at INTEGER NOT NULL,
                loaded_by TEXT NOT NULL,
                locked    INTEGER NOT NULL DEFAULT 0,
                sha256    TEXT NOT NULL,
                document  TEXT NOT NULL
            )""",
            """CREATE TABLE holds (
                id             INTEGER PRIMARY KEY,
                name           TEXT NOT NULL UNIQUE,
                matter         TEXT NOT NULL,
                reason         TEXT NOT NULL,
                scope          TEXT NOT NULL,
                created_at     INTEGER NOT NULL,
                created_by     TEXT NOT NULL,
                released_at    INTEGER,
                released_by    TEXT,
                release_reason TEXT
            )""",
            """CREATE TABLE purges (
                id                   INTEGER PRIMARY KEY,
                executed_at          INTEGER NOT NULL,
                as_of                INTEGER NOT NULL,
                ahead_of_time        INTEGER NOT NULL,
                policy_version       INTEGER NOT NULL,
                counts               TEXT NOT NULL,
                certificate          TEXT,
                certificate_sha256   TEXT,
                previous_sha256      TEXT
            )""",
            # What remains of a purged message: keyed fingerprints of every version (so a
            # re-ingest does not bring it back and an ingest's Merkle root still verifies),
            # never its text.
            """CREATE TABLE tombstones (
                message_id        INTEGER NOT NULL,
                version           INTEGER NOT NULL,
                keyed_fingerprint BLOB NOT NULL,
                chat_id           INTEGER NOT NULL,
                msg_id            INTEGER,
                source_id         INTEGER NOT NULL,
                ingest_seq        INTEGER NOT NULL,
                sent_at           INTEGER,
                rule              TEXT NOT NULL,
                purge_id          INTEGER NOT NULL REFERENCES purges(id),
                purged_at         INTEGER NOT NULL,
                PRIMARY KEY (message_id, version)
            ) WITHOUT ROWID""",
            """CREATE INDEX tombstones_fingerprint ON tombstones(keyed_fingerprint)""",
            """CREATE INDEX tombstones_chat ON tombstones(chat_id, msg_id)""",
            """CREATE INDEX tombstones_source ON tombstones(source_id, ingest_seq)""",
        ],
    )
)

MIGRATIONS.append(
    (
        3,
        "full-text index merges sixteen segments at a time",
        [
            # FTS5 merges a level's segments once 16 (not 4) have accumulated: a 1M-message
            # ingest measured ~1.2 s faster, the same search latencies at that size.
            """INSERT INTO messages_fts(messages_fts, rank) VALUES ('automerge', 16)""",
        ],
    )
)

MIGRATIONS.append(
    (
        4,
        "stored files compressed chunk by chunk",
        [
            # How a chunk's data is stored: 'raw' (as received) or 'zstd' (one zstd frame);
            # size is the plain length (NULL in chunks stored before: raw, length(data)).
            """ALTER TABLE blob_chunks ADD COLUMN codec TEXT NOT NULL DEFAULT 'raw'
                CHECK (codec IN ('raw', 'zstd'))""",
            """ALTER TABLE blob_chunks ADD COLUMN size INTEGER""",
        ],
    )
)

MIGRATIONS.append(
    (
        5,
        "a purge records what it must finish, so a killed purge can be certified",
        [
            # Lines of stored originals whose messages a running purge deleted (0: the
            # message had no line, so the original cannot be redacted and is deleted),
            # and media it may have orphaned. Filled in each batch's transaction, emptied
            # when the purge's certificate is written.
            """CREATE TABLE purge_lines (
                purge_id  INTEGER NOT NULL REFERENCES purges(id),
                source_id INTEGER NOT NULL REFERENCES sources(id),
                line      INTEGER NOT NULL,
                PRIMARY KEY (purge_id, source_id, line)
            ) WITHOUT ROWID""",
            """CREATE TABLE purge_media (
                purge_id INTEGER NOT NULL REFERENCES purges(id),
                sha256   TEXT NOT NULL,
                PRIMARY KEY (purge_id, sha256)
            ) WITHOUT ROWID""",
        ],
    )
)

MIGRATIONS.append(
    (
        6,
        "chat identity by evidence: content keys on tombstones, merged chats",
        [
            # The keyed content key of a purged message (identity.content_key): blocks it
            # from coming back under another chat title, file name, custodian or device.
            # Tombstones written before this migration have none and match by fingerprint.
            """ALTER TABLE tombstones ADD COLUMN keyed_content BLOB""",
            # A chat merged into another by `archiver chats merge`: its messages moved to
            # `merged_into`; its names still count for holds (a hold never narrows).
            """ALTER TABLE chats ADD COLUMN merged_into INTEGER REFERENCES chats(id)""",
            # The chat whose key a moved message was fingerprinted under (NULL: chat_id).
            """ALTER TABLE messages ADD COLUMN origin_chat_id INTEGER REFERENCES chats(id)""",
        ],
    )
)

MIGRATIONS.append(
    (
        7,
        "hold names unique whatever their case, spaces, hyphens or underscores",
        [
            # The normal form of each hold's name (`hold_name_key`): one hold per form.
            """ALTER TABLE holds ADD COLUMN name_key TEXT""",
            """UPDATE holds SET name_key = hold_name_key(name)""",
            # Holds made before this migration whose names share a form keep them, the
            # later ones with " #id" appended (a normal form never holds a space): each
            # stays reachable by its exact name.
            """UPDATE holds SET name_key = name_key || ' #' || id WHERE EXISTS (
                SELECT 1 FROM holds AS earlier
                WHERE earlier.name_key = holds.name_key AND earlier.id < holds.id
            )""",
            """CREATE UNIQUE INDEX holds_name_key ON holds(name_key)""",
        ],
    )
)

MIGRATIONS.append(
    (
        8,
        "four-eyes approval requests",
        [
            # An action four-eyes held back until a different admin key slot approves it.
            # params: what approving performs; summary: what the requester was shown;
            # requested_by / decided_by: JSON identities (key slot id, kind, role, label,
            # OS user, host). A pending request past expires_at is expired (computed).
            """CREATE TABLE approval_requests (
                id            INTEGER PRIMARY KEY,
                action        TEXT NOT NULL,
                params        TEXT NOT NULL,
                summary       TEXT NOT NULL,
                requested_at  INTEGER NOT NULL,
                requested_by  TEXT NOT NULL,
                expires_at    INTEGER NOT NULL,
                status        TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'cancelled')),
                decided_at    INTEGER,
                decided_by    TEXT,
                decision_note TEXT,
                outcome       TEXT
            )""",
        ],
    )
)

# Custodian names as ``names.custodian_name`` records them (the SQL function
# ``custodian_name``, registered on every connection). Names that become one
# (``Dana@Broker.example `` and ``dana@broker.example``) merge into the oldest custodian,
# unless both handed over the same export (sources are unique per export and custodian):
# those two keep their names as they were, and so does every name that would clash.
MIGRATIONS.append(
    (
        9,
        "custodian names trimmed, e-mail addresses in lower case",
        [
            """CREATE TEMP TABLE custodian_keeper AS
                SELECT c.id AS id, custodian_name(c.name) AS name,
                    (SELECT min(d.id) FROM custodians d WHERE custodian_name(d.name)
                        = custodian_name(c.name) COLLATE NOCASE) AS keeper
                FROM custodians c""",
            """UPDATE custodian_keeper SET keeper = id WHERE keeper <> id AND EXISTS (
                SELECT 1 FROM sources s JOIN sources t ON t.sha256 = s.sha256
                WHERE s.custodian_id = custodian_keeper.id
                AND t.custodian_id = custodian_keeper.keeper)""",
            """UPDATE sources SET custodian_id = (SELECT keeper FROM custodian_keeper k
                WHERE k.id = sources.custodian_id)
                WHERE custodian_id IN (SELECT id FROM custodian_keeper WHERE keeper <> id)""",
            """INSERT OR IGNORE INTO message_custodians(message_id, custodian_id)
                SELECT mc.message_id, k.keeper FROM message_custodians mc
                JOIN custodian_keeper k ON k.id = mc.custodian_id WHERE k.keeper <> k.id""",
            """DELETE FROM message_custodians WHERE custodian_id IN
                (SELECT id FROM custodian_keeper WHERE keeper <> id)""",
            """UPDATE messages SET custodian_id = (SELECT keeper FROM custodian_keeper k
                WHERE k.id = messages.custodian_id)
                WHERE custodian_id IN (SELECT id FROM custodian_keeper WHERE keeper <> id)""",
            """DELETE FROM message_custodians WHERE EXISTS (SELECT 1 FROM messages m
                WHERE m.id = message_custodians.message_id
                AND m.custodian_id = message_custodians.custodian_id)""",
            """DELETE FROM custodians WHERE id IN
                (SELECT id FROM custodian_keeper WHERE keeper <> id)""",
            """UPDATE custodians SET name = (SELECT name FROM custodian_keeper k
                WHERE k.id = custodians.id)
                WHERE id IN (SELECT k.id FROM custodian_keeper k WHERE k.keeper = k.id
                    AND NOT EXISTS (SELECT 1 FROM custodian_keeper o WHERE o.keeper = o.id
                        AND o.id <> k.id AND o.name = k.name COLLATE NOCASE))""",
            """DROP TABLE custodian_keeper""",
        ],
    )
)

MIGRATIONS.append(
    (
        10,
        "ids retired by a reparse are recorded and never reused",
        [
            # A message a reparse gave a new id (its time moved: ids are ordered by time)
            # or merged into another (``how`` 'moved' or 'merged'): its old id names it in
            # audit entries and earlier productions, so no other message ever takes it.
            """CREATE TABLE message_moves (
                old_id    INTEGER PRIMARY KEY,
                new_id    INTEGER NOT NULL,
                how       TEXT NOT NULL CHECK (how IN ('moved', 'merged')),
                source_id INTEGER NOT NULL REFERENCES sources(id),
                moved_at  INTEGER NOT NULL
            )""",
        ],
    )
)

MIGRATIONS.append(
    (
        11,
        "eDiscovery productions: matters, Bates numbers, documents, produced messages",
        [
            # A matter's productions share one Bates sequence: `next_bates` is the first
            # number no production of the matter has used. It moves forward when a
            # production reserves its numbers, before any file is written, and never back.
            """CREATE TABLE matters (
                id          INTEGER PRIMARY KEY,
                name        TEXT NOT NULL,
                name_key    TEXT NOT NULL UNIQUE,
                next_bates  INTEGER NOT NULL DEFAULT 1,
                productions INTEGER NOT NULL DEFAULT 0,
                created_at  INTEGER NOT NULL
            )""",
            # One row per `archiver produce`: 'reserved' while its files are written,
            # then 'complete' or 'failed' (a killed one stays 'reserved').
            """CREATE TABLE productions (
                id              INTEGER PRIMARY KEY,
                matter_id       INTEGER NOT NULL REFERENCES matters(id),
                number          INTEGER NOT NULL,
                status          TEXT NOT NULL
                    CHECK (status IN ('reserved', 'complete', 'failed')),
                query           TEXT,
                options         TEXT NOT NULL,
                bates_prefix    TEXT NOT NULL,
                bates_first     INTEGER,
                bates_last      INTEGER,
                counts          TEXT NOT NULL,
                created_at      INTEGER NOT NULL,
                created_by      TEXT NOT NULL,
                finished_at     INTEGER,
                out_dir         TEXT NOT NULL,
                manifest_sha256 TEXT,
                error           TEXT,
                UNIQUE (matter_id, number)
            )""",
            # The messages a production holds (context = 1: around a hit, not a hit).
            # No foreign key to messages: a purge may delete a produced message later and
            # the record of what was produced stays.
            """CREATE TABLE production_messages (
                production_id INTEGER NOT NULL REFERENCES productions(id),
                chat_id       INTEGER NOT NULL,
                message_id    INTEGER NOT NULL,
                context       INTEGER NOT NULL,
                PRIMARY KEY (production_id, chat_id, message_id)
            ) WITHOUT ROWID""",
            # Its documents: one conversation x one time slice (or part of one), the
            # selected messages of chat_id with ids first_id..last_id; Bates numbers
            # bates_first..pages_last for its pages, then one per attachment up to
            # bates_last.
            """CREATE TABLE production_documents (
                production_id INTEGER NOT NULL REFERENCES productions(id),
                seq           INTEGER NOT NULL,
                chat_id       INTEGER NOT NULL,
                slice_start   INTEGER NOT NULL,
                slice_end     INTEGER NOT NULL,
                part          INTEGER NOT NULL,
                parts         INTEGER NOT NULL,
                first_id      INTEGER NOT NULL,
                last_id       INTEGER NOT NULL,
                events        INTEGER NOT NULL,
                pages         INTEGER NOT NULL,
                attachments   INTEGER NOT NULL,
                bates_first   INTEGER NOT NULL,
                pages_last    INTEGER NOT NULL,
                bates_last    INTEGER NOT NULL,
                PRIMARY KEY (production_id, seq)
            ) WITHOUT ROWID""",
        ],
    )
)

SCHEMA_VERSION = MIGRATIONS[-1][0]
