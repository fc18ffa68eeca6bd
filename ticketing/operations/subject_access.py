"""The right of access (RGPD art. 15): everything the commune holds about one citizen, as a ZIP.

What the archive holds: the citizen's record, and for each of their requests in this
commune its data, its public thread (the citizen's messages and the commune's replies),
the files of that thread, and the mails received from or sent to their address about it.

What it leaves out, on purpose:

- internal notes (``EntryKind.NOTE``) and the files attached to them: they are the
  agents' working documents, préparatoires, which CRPA art. L311-5 excludes from what an
  administration must communicate; drafts waiting in the parapheur, for the same reason;
- anything of another person: other citizens' tickets, even linked to theirs; on a ticket
  kept after a merge, the messages that came with its duplicates (another citizen's);
  contacts added to a ticket (spouse, lawyer: third parties);
- the agents' side: who was assigned, routing reasons, the audit history.

A duplicate of theirs merged into another ticket keeps its own correspondence: the
entries it moved (and the citizen's later messages, forwarded to the ticket kept) are
found through the merge's audit events, wherever they now sit.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import zipfile
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketing.models import (
    Attachment,
    Citizen,
    EntryKind,
    InboundMessage,
    LinkKind,
    OutboxMessage,
    RegisterEntry,
    ThreadEntry,
    Ticket,
    TicketLink,
    utcnow,
)
from ticketing.operations.attachments import blob_path, safe_filename
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, record_event
from ticketing.operations.merge import MAX_MERGE_HOPS, entries_merged_in, entries_merged_out
from ticketing.operations.subject_access_readme import readme_text

EXPORTED = "citizen.data_exported"
MAX_ARCHIVE_BYTES = 200 * 1024 * 1024  # uncompressed; above it the agent is told to split
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a larger archive is spooled to a temporary file
ENTRY_KINDS = {EntryKind.INBOUND: "message de l'usager", EntryKind.REPLY: "réponse de la commune"}


class ExportRefused(PermissionError):
    """The agent lacks "export" on a service holding some of the citizen's data."""


class ArchiveTooLarge(ValueError):
    """The archive would pass the size cap; the message is for the agent, in French."""


@dataclass(frozen=True)
class Labels:
    """French labels of codes (the web layer's), so the JSON reads without a glossary."""

    status: Callable[[str], str] = str
    channel: Callable[[str], str] = str


@dataclass
class SubjectAccessArchive:
    file: IO[bytes]  # positioned at the start; the caller closes it
    filename: str
    tickets: int
    attachments: int
    missing_files: int
    inbound_mails: int
    sent_mails: int
    size: int  # uncompressed bytes written


@dataclass
class _CitizenTicket:
    """One ticket of the citizen and what of it is theirs."""

    ticket: Ticket
    chain: list[Ticket]  # the tickets it was merged into, in order (usually none)
    entries: list[ThreadEntry] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    inbound: list[InboundMessage] = field(default_factory=list)
    sent: list[OutboxMessage] = field(default_factory=list)


def _merge_chains(
    session: Session, commune_id: int, tickets: list[Ticket]
) -> dict[int, list[Ticket]]:
    """For each ticket, the tickets it was merged into, in order (one query per hop)."""
    chains: dict[int, list[Ticket]] = {t.id: [] for t in tickets}
    ends = {t.id: t.id for t in tickets}  # ticket -> the last ticket of its chain so far
    for _ in range(MAX_MERGE_HOPS if tickets else 0):
        links = dict(session.execute(select(TicketLink.ticket_id, TicketLink.other_ticket_id)
                                     .where(TicketLink.kind == LinkKind.MERGED,
                                            TicketLink.ticket_id.in_(set(ends.values())))).all())
        if not links:
            break
        targets = {t.id: t for t in session.scalars(select(Ticket).where(
            Ticket.id.in_(set(links.values())), Ticket.commune_id == commune_id))}
        followed: dict[int, int] = {}
        for origin, end in ends.items():
            target = targets.get(links.get(end, 0))
            if target is not None:
                chains[origin].append(target)
                followed[origin] = target.id
        ends = followed
    return chains


def _citizen_tickets(session: Session, commune_id: int, citizen_id: int) -> list[_CitizenTicket]:
    tickets = list(session.scalars(
        select(Ticket).where(Ticket.commune_id == commune_id, Ticket.citizen_id == citizen_id)
        .order_by(Ticket.received_at, Ticket.id)))
    chains = _merge_chains(session, commune_id, tickets)
    return [_CitizenTicket(t, chains[t.id]) for t in tickets]


def services_holding(session: Session, commune_id: int, citizen_id: int) -> set[str]:
    """The services whose tickets hold some of the citizen's data (their tickets, and the
    tickets their merged duplicates went into): exporting needs "export" on all of them."""
    found = _citizen_tickets(session, commune_id, citizen_id)
    return {t.service_code for item in found for t in (item.ticket, *item.chain)}


def _fill_thread(session: Session, item: _CitizenTicket) -> None:
    """The public entries that are the citizen's on ``item``, and their files."""
    ticket = item.ticket
    current = set(session.scalars(select(ThreadEntry.id).where(ThreadEntry.ticket_id == ticket.id)))
    wanted = (current | entries_merged_out(session, ticket)) - entries_merged_in(session, ticket)
    if not wanted:
        return
    item.entries = list(session.scalars(
        select(ThreadEntry).where(ThreadEntry.commune_id == ticket.commune_id,
                                  ThreadEntry.id.in_(wanted),
                                  ThreadEntry.kind.in_(list(ENTRY_KINDS)))
        .order_by(ThreadEntry.created_at, ThreadEntry.id)))
    if item.entries:
        item.files = list(session.scalars(
            select(Attachment).where(Attachment.commune_id == ticket.commune_id,
                                     Attachment.entry_id.in_([e.id for e in item.entries]))
            .order_by(Attachment.id)))
    # The acknowledgement slip handed to the citizen at registration: stored on a note, but
    # it is theirs.
    slips = session.scalars(select(Attachment).join(
        RegisterEntry, RegisterEntry.slip_id == Attachment.id).where(
        RegisterEntry.ticket_id == ticket.id, Attachment.commune_id == ticket.commune_id))
    item.files += [slip for slip in slips if slip not in item.files]


def _fill_mails(session: Session, item: _CitizenTicket, email: str | None) -> None:
    """Mails from and to the citizen's own address about this ticket (or where it went)."""
    if not email:
        return
    ids = [t.id for t in (item.ticket, *item.chain)]
    address = email.strip().lower()
    item.inbound = list(session.scalars(
        select(InboundMessage).where(InboundMessage.commune_id == item.ticket.commune_id,
                                     InboundMessage.ticket_id.in_(ids),
                                     func.lower(InboundMessage.from_address) == address)
        .order_by(InboundMessage.received_at, InboundMessage.id)))
    item.sent = list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.commune_id == item.ticket.commune_id,
                                    OutboxMessage.ticket_id.in_(ids),
                                    func.lower(OutboxMessage.to_address) == address)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)))


class _ZipWriter:
    """Writes members into a spooled ZIP, counting bytes against the cap."""

    def __init__(self, cap: int, when: datetime):
        self.cap = cap
        self.size = 0
        self.stamp = when.timetuple()[:6]
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self.zip = zipfile.ZipFile(self.file, "w")

    def add(self, path: str, data: bytes, compress: bool = True) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise _too_large(self.size, self.cap)
        info = zipfile.ZipInfo(path, date_time=self.stamp)  # type: ignore[arg-type]
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self.zip.writestr(info, data)

    def add_json(self, path: str, value: Any) -> None:
        self.add(path, json.dumps(value, ensure_ascii=False, indent=2).encode())

    def close(self) -> IO[bytes]:
        self.zip.close()
        self.file.seek(0)
        return self.file

    def discard(self) -> None:
        with contextlib.suppress(Exception):  # the archive is thrown away either way
            self.zip.close()
        self.file.close()


def _too_large(size: int, cap: int) -> ArchiveTooLarge:
    megabytes = f"{size / 1024 / 1024:.0f}".replace(".", ",")
    return ArchiveTooLarge(
        f"L'export dépasserait la taille maximale de {cap // (1024 * 1024)} Mo (au moins "
        f"{megabytes} Mo, pièces jointes comprises). Transmettez les pièces jointes à "
        "l'usager séparément, ou contactez l'administrateur.")


class _Formatter:
    """Turns rows into the JSON the citizen reads (dates in the commune's local time)."""

    def __init__(self, ctx: CommuneContext, labels: Labels):
        self.ctx = ctx
        self.labels = labels
        self.zone = ZoneInfo(ctx.timezone)

    def when(self, value: datetime | date | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(self.zone).isoformat(timespec="seconds")
        return value.isoformat()

    def citizen(self, citizen: Citizen) -> dict[str, Any]:
        return {"prenom": citizen.first_name, "nom": citizen.last_name,
                "courriel": citizen.email, "telephone": citizen.phone,
                "adresse": citizen.address, "fiche_creee_le": self.when(citizen.created_at),
                "courriel_en_echec_depuis": self.when(citizen.email_bounced_at)}

    def ticket(self, item: _CitizenTicket, pieces: dict[int, list[str]]) -> dict[str, Any]:
        t = item.ticket
        config = self.ctx.config
        category = config.categories.get(t.category_code or "")
        service = config.services.get(t.service_code)
        zones = {z.code: z.label for z in config.commune.zones}
        return {
            "numero": t.number,
            "canal": {"code": t.channel, "libelle": self.labels.channel(t.channel)},
            "categorie": {"code": t.category_code, "libelle": category.label if category
                          else None} if t.category_code else None,
            "service": {"code": t.service_code, "nom": service.name if service else None},
            "statut": {"code": t.status, "libelle": self.labels.status(t.status)},
            "regroupee_dans": item.chain[-1].number if item.chain else None,
            "objet": t.subject,
            "description": t.description,
            "localisation": {"adresse": t.location, "secteur": zones.get(t.zone_code or ""),
                             "latitude": t.latitude, "longitude": t.longitude},
            "champs_complementaires": t.extra_fields or {},
            "dates": {"recue_le": self.when(t.received_at), "envoyee_le": self.when(t.sent_on),
                      "accuse_de_reception_le": self.when(t.acknowledged_at),
                      "premiere_reponse_le": self.when(t.first_answer_at),
                      "cloturee_le": self.when(t.closed_at)},
            "echeances": {"accuse_de_reception": self.when(t.ack_due_on),
                          "reponse": self.when(t.answer_due_on),
                          "decision_implicite": self.when(t.decision_due_on)},
            "echanges": [self.entry(e, pieces.get(e.id, [])) for e in item.entries],
            "courriels_recus": [{"date": self.when(m.received_at), "objet": m.subject}
                                for m in item.inbound],
            "courriels_envoyes": [{"date": self.when(m.sent_at or m.created_at),
                                   "objet": m.subject, "etat": m.status} for m in item.sent],
        }

    def entry(self, entry: ThreadEntry, pieces: list[str]) -> dict[str, Any]:
        found = {"date": self.when(entry.created_at), "type": ENTRY_KINDS[EntryKind(entry.kind)],
                 "objet": entry.subject, "texte": entry.body, "pieces_jointes": pieces}
        if entry.kind == EntryKind.REPLY:
            found["signataire"] = entry.author_signature
        return found


def _write_files(writer: _ZipWriter, folder: str, files: Iterable[Attachment],
                 ctx: CommuneContext) -> tuple[dict[int, list[str]], int, int]:
    """Copy the files into ``folder``/pieces; (paths per entry, files written, missing)."""
    paths: dict[int, list[str]] = {}
    written = missing = 0
    for index, attachment in enumerate(files, start=1):
        path = blob_path(ctx.attachments_dir, attachment.sha256)
        name = f"{folder}/pieces/{index:02d}-{safe_filename(attachment.filename)}"
        if not path.is_file():
            missing += 1
            name = f"{attachment.filename} (fichier introuvable sur le serveur)"
        else:
            writer.add(name, path.read_bytes(), compress=False)
            written += 1
        paths.setdefault(attachment.entry_id or 0, []).append(name)
    return paths, written, missing


def export_citizen_data(
    session: Session, ctx: CommuneContext, citizen_id: int, exportable: Collection[str],
    actor: Actor, *, labels: Labels = Labels(), cap: int = MAX_ARCHIVE_BYTES,
    now: datetime | None = None,
) -> SubjectAccessArchive | None:
    """Build the ZIP of everything held about citizen ``citizen_id`` of this commune and
    audit it (the caller commits). None if no such citizen in this commune; ExportRefused
    if some of their data sits on a service not in ``exportable``; ArchiveTooLarge above
    ``cap`` bytes (checked on the files' recorded sizes first, then while writing)."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None or citizen.commune_id != ctx.commune_id:
        return None
    items = _citizen_tickets(session, ctx.commune_id, citizen_id)
    if {t.service_code for item in items for t in (item.ticket, *item.chain)} - set(exportable):
        raise ExportRefused(citizen_id)
    for item in items:
        _fill_thread(session, item)
        _fill_mails(session, item, citizen.email)
    expected = sum(a.size for item in items for a in item.files)
    if expected > cap:
        raise _too_large(expected, cap)
    moment = now or utcnow()
    fmt = _Formatter(ctx, labels)
    local = moment.astimezone(fmt.zone)
    writer = _ZipWriter(cap, local)
    written = missing = 0
    try:
        writer.add_json("usager.json", fmt.citizen(citizen))
        for item in items:
            folder = f"demandes/{safe_filename(item.ticket.number)}"
            pieces, done, lost = _write_files(writer, folder, item.files, ctx)
            written, missing = written + done, missing + lost
            writer.add_json(f"{folder}/demande.json", fmt.ticket(item, pieces))
        writer.add("LISEZMOI.txt", readme_text(
            ctx.config.commune, citizen, local, len(items), written, missing).encode())
        archive = writer.close()
    except BaseException:
        writer.discard()
        raise
    result = SubjectAccessArchive(
        archive, f"{ctx.config.slug}-usager-{citizen_id}-donnees-{local.date().isoformat()}.zip",
        tickets=len(items), attachments=written, missing_files=missing,
        inbound_mails=sum(len(i.inbound) for i in items),
        sent_mails=sum(len(i.sent) for i in items), size=writer.size)
    # Counts only: the journal holds no personal data of the citizen.
    record_event(session, ctx.commune_id, actor, EXPORTED, after={
        "citizen_id": citizen_id, "tickets": result.tickets, "attachments": written,
        "missing_files": missing, "inbound_mails": result.inbound_mails,
        "sent_mails": result.sent_mails, "bytes": result.size})
    return result
