"""Delivery: a version exported as the stem package a post house receives (``stemvault export``).

Public surface:
    ExportOptions, ExportReport (dataclasses)
    export(vault, ref, dest, options, progress=None) -> ExportReport
    export_all_approved(vault, dest, options, progress=None) -> (reports, skipped cues, cue sheet path)
    approval_record(vault, version, manifest) -> dict | None   (the one place approvals are judged)

The names (``[delivery]`` of stemvault.toml) are vcs.delivery_names'; the documents (change
log, cue sheet, README) vcs.delivery_docs'.

The package is built from the version's committed content only: the manifest and the other
plain files from git objects, the audio from the LFS store by the manifest's sha256 (never the
working folder, which may hold a stem changed after approval). Every file is copied once, its
sha256 and md5 computed from the same bytes as they are written (the md5 on a second thread), and
a copied stem whose sha256 is not the manifest's stops the export. The package is built in a
hidden folder (or zip) beside the destination, ``.NAME.partial-PID``, and renamed into place when
complete, so a killed export or a full disk leaves nothing under the final name; a partial left
by a killed export is removed by the next export of the same name.

Layout of a package (docs/supervisor.md "Delivering"): the stems and the mix, named by the
delivery naming rule, in the manifest's order; ``stemset.toml`` (the manifest, as committed);
``DELIVERY.json`` (every file with sha256, md5, size; the approval record; the check results);
``CHANGELOG.md``, ``CUESHEET.csv``, ``README.txt``; ``loudness_<T>LUFS/`` copies when asked;
``SHA256SUMS`` and ``MD5SUMS`` over all of these; ``previews/`` (MP3s, outside the checksums).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import io
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from vcs import _testseam, git
from vcs.delivery_docs import changelog, cuesheet, readme
from vcs.delivery_names import DeliverySettings, delivery_names, package_name
from vcs.delivery_write import FolderSink, Sink, ZipSink
from vcs.errors import CheckFailed, UsageError, VaultError
from vcs.lfs import POINTER_MAX, object_path, parse_pointer
from vcs.manifest import MANIFEST_NAME, Manifest, StemEntry
from vcs.models import Version
from vcs.text import visible
from vcs.vault import CUES_DIR, Vault

__all__ = ["ExportOptions", "ExportReport", "approval_record", "export", "export_all_approved"]

Progress = Callable[[str], None]

SUMS = ("SHA256SUMS", "MD5SUMS")
DELIVERY_JSON = "DELIVERY.json"
PREVIEWS_DIR = "previews"
DELIVERY_FORMAT = 1


# ----- the approval record --------------------------------------------------------------------

def approval_record(vault: Vault, v: Version, manifest: Manifest) -> dict[str, Any] | None:
    """The approval of ``v`` as the package records it, or None when it has none that counts.

    The one place an export judges an approval. Whether it is signed and verified comes from the
    vault's verification (vcs.approvals, vcs.trust: git verified the signature with a key the vault
    trusts, and the key is a supervisor's). ``content_matches``: the files the approval recorded are
    the manifest's (sha256 for sha256); an export refuses when they are not.
    """
    a = v.approval
    if a is None:
        return None
    current = {s.file: s.sha256 for s in manifest.stems}
    differ = sorted({f for f, _ in set(a.files.items()) ^ set(current.items())})
    if a.verified:
        signature = f"signed, verified (key of {a.signer or a.key})"
    elif a.signed:
        signature = f"signed, not verified: {a.why}" if a.why else "signed, not verified"
    else:
        signature = "unsigned"
    return {
        "tag": a.tag, "cue": a.cue, "version": a.version, "by": a.by, "email": a.email,
        "date": a.date, "message": a.message, "commit": a.commit,
        "signed": a.signed, "verified": a.verified, "signer": a.signer or None, "key": a.key or None,
        "signature": signature,
        "files": dict(a.files),
        "content_matches": not differ and (a.cue, a.version) == (v.cue, str(v.version)),
        "differs": differ,
    }


# ----- export -----------------------------------------------------------------------------------

@dataclass
class ExportOptions:
    zip: bool = False
    naming: str | None = None  # "film" | "sync"; None: stemvault.toml's
    title: str | None = None
    loudness: list[float] = field(default_factory=list)
    loudness_stems: bool = False
    ceiling_dbtp: float = -1.0
    previews: bool = False
    allow_unapproved: bool = False
    force: bool = False
    day: dt.date | None = None  # the date in the package name (default: today)


@dataclass
class ExportReport:
    version: str
    path: str
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    approval: dict[str, Any] | None = None
    loudness: list[dict[str, Any]] = field(default_factory=list)
    previews: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "path": self.path, "files": self.files, "warnings": self.warnings,
                "approval": self.approval, "loudness": self.loudness, "previews": self.previews,
                "fetched": self.fetched}


@dataclass
class _Source:
    entry: StemEntry
    name: str  # delivered name
    lfs: Path | None  # the LFS object, or None for a plain git blob
    blob: str | None  # the git blob of a plain file


def _sources(vault: Vault, v: Version, manifest: Manifest, names: dict[str, str]) -> list[_Source]:
    """Where each file of the manifest is in the vault's objects, checked against the manifest."""
    prefix = f"{CUES_DIR}/{v.cue}/"
    tree = {e.path[len(prefix):]: e for e in vault.tree(v) if e.type == "blob"}
    out = []
    for s in manifest.stems:
        e = tree.get(s.file)
        if e is None:
            raise CheckFailed(f"{s.file} is in the manifest of {v.ref} but not in its commit: the version is "
                              "damaged (see `stemvault verify`); nothing was exported")
        ptr = parse_pointer(vault.objects.read(e.oid)) if (e.size or 0) <= POINTER_MAX else None
        if ptr is not None:
            if ptr.oid != s.sha256:
                raise CheckFailed(f"{s.file} of {v.ref}: the commit's LFS pointer ({ptr.oid[:12]}…) is not the "
                                  f"manifest's sha256 ({s.sha256[:12]}…): see `stemvault verify`; nothing was exported")
            out.append(_Source(s, names[s.file], object_path(vault.git_dir, ptr.oid), None))
        else:
            out.append(_Source(s, names[s.file], None, e.oid))
    return out


def _fetch_missing(vault: Vault, v: Version, sources: list[_Source], progress: Progress,
                   report: ExportReport) -> None:
    """Bring the LFS objects this clone lacks from the remote (exactly those), or say how."""
    from vcs.audiofiles import fetch_hint
    from vcs.errors import AudioMissing

    missing = [s.entry.file for s in sources if s.lfs is not None and not s.lfs.is_file()]
    if not missing:
        return
    if not git.remotes(cwd=vault.root):
        raise AudioMissing(f"the audio of {v.ref} is not in this clone ({len(missing)} files: "
                           f"{', '.join(missing[:4])}) and it has no remote: fetch it with "
                           f"{fetch_hint(vault, v, missing)}", missing)
    from vcs.remote import fetch_audio

    total = sum(s.entry.size for s in sources if s.entry.file in missing)
    progress(f"fetching {len(missing)} files of {v.ref} ({total / 1e6:.1f} MB) from origin…")
    # One transfer for all of them (one connection over SSH), each object checked against its oid.
    got = fetch_audio(vault, v.ref, missing)
    for g in got:
        progress(f"  fetched {visible(g.file)} ({g.size / 1e6:.1f} MB, sha256 checked)")
        report.fetched.append(g.file)


def _open_source(vault: Vault, s: _Source) -> tuple[IO[bytes], int]:
    if s.lfs is not None:
        return open(s.lfs, "rb", buffering=0), s.lfs.stat().st_size
    assert s.blob is not None
    data = vault.objects.read(s.blob)
    return io.BytesIO(data), len(data)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clear_stale(dest: Path, final_name: str, top: str) -> None:
    """Remove what a killed export of ``final_name`` left (``.NAME.partial-PID`` and its scratch
    folder ``.TOP.scratch-PID``, whose PID is gone)."""
    for p in [*dest.glob(f".{final_name}.partial-*"), *dest.glob(f".{top}.scratch-*")]:
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()


def _disk_error(e: OSError, dest: Path, needed: int = 0) -> VaultError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        free = shutil.disk_usage(dest).free if dest.exists() else 0
        need = f"the package needs {needed / 1e6:.1f} MB or more, " if needed else ""
        return VaultError(f"the disk holding {dest} is full ({need}{free / 1e6:.1f} MB are free): nothing was "
                          "delivered (the partial package was removed); free some space or choose another "
                          "destination")
    return VaultError(f"cannot write the package in {dest} ({e.strerror or e}): check the folder and its "
                      "permissions; nothing was delivered")


def _prepare_dest(dest: Path, final: Path, force: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} is not a folder: give the folder the package goes into")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create {dest} ({e.strerror}): check the path and its permissions") from None
    if (final.exists() or final.is_symlink()) and not force:
        raise UsageError(f"{final} exists: a delivery is never overwritten; remove it, choose another "
                         "folder, or pass --force")


def _move_into_place(tmp: Path, final: Path, force: bool) -> None:
    old = None
    if final.exists() or final.is_symlink():
        if not force:
            raise UsageError(f"{final} appeared while exporting: it was left alone; nothing was delivered")
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.rename(final, old)
    os.rename(tmp, final)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()


def export(vault: Vault, ref: str, dest: Path, options: ExportOptions | None = None,
           progress: Progress | None = None) -> ExportReport:
    """Export version ``ref`` as a package in folder ``dest`` (created when missing).

    Raises:
        UsageError: bad options, a name outside the safe set, the package exists (without force).
        CheckFailed: the version's content is not what its approval recorded, or the LFS store
            holds other bytes than the manifest says (nothing is delivered).
        AudioMissing / RemoteError: audio this clone lacks and cannot fetch.
        VaultError: the disk is full or cannot be written (nothing left under the final name).
    """
    o = options or ExportOptions()
    say = progress or (lambda _m: None)
    settings = DeliverySettings.load(vault)
    v = vault.resolve(ref)
    manifest = vault.manifest_at(v)
    report = ExportReport(v.ref, "")
    approval = approval_record(vault, v, manifest)
    if approval is not None and not approval["content_matches"]:
        what = ", ".join(approval["differs"]) or f"it names {approval['cue']}@{approval['version']}"
        raise CheckFailed(f"{v.ref}'s content is not what its approval {approval['tag']} recorded ({what}): "
                          "refused; see `stemvault verify`, and approve the version again if it is right")
    if approval is None and not o.allow_unapproved:
        void = v.void_approval
        why = (f" (its approval {void.tag} does not count: {void.why or 'the vault rules it out'})"
               if void is not None else "")
        report.warnings.append(f"{v.ref} is not approved{why}: delivering it anyway (approve it with "
                               f"`stemvault approve {v.ref}`, or pass --allow-unapproved)")
    report.approval = approval
    report.warnings += _newer_void(vault, ref, v)
    names = delivery_names(settings, v, manifest, o.title, o.naming)
    sources = _sources(vault, v, manifest, names)
    _fetch_missing(vault, v, sources, say, report)
    day = o.day or dt.date.today()
    top = package_name(v, day)
    dest = dest.expanduser().absolute()
    _outside_vault(vault, dest)
    final = dest / (top + ".zip" if o.zip else top)
    _prepare_dest(dest, final, o.force)
    _clear_stale(dest, final.name, top)
    tmp = dest / f".{final.name}.partial-{os.getpid()}"
    scratch = dest / f".{top}.scratch-{os.getpid()}"
    try:
        with ThreadPoolExecutor(1) as pool:
            if o.zip:
                sink: Sink = ZipSink(tmp, top, pool)
            else:
                tmp.mkdir()
                sink = FolderSink(tmp, pool)
            try:
                _build(vault, v, manifest, sources, settings, sink, scratch, o, report, say)
            except BaseException:
                sink.abort()
                raise
            sink.close()
        _move_into_place(tmp, final, o.force)
    except BaseException as e:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _disk_error(e, dest, sum(s.entry.size for s in sources)) from None
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report.path = str(final)
    return report


def _build(vault: Vault, v: Version, manifest: Manifest, sources: list[_Source], settings: DeliverySettings,
           sink: Sink, scratch: Path, o: ExportOptions, report: ExportReport, say: Progress) -> None:
    files: list[dict[str, Any]] = []
    for s in sources:
        say(f"copying {visible(s.entry.file)} → {visible(s.name)}")
        src, size = _open_source(vault, s)
        with src:
            w = sink.add_stream(s.name, src, size)
        if s.entry.sha256 and w.sha256 != s.entry.sha256:
            raise CheckFailed(f"{s.entry.file} of {v.ref}: the bytes in this clone's store (sha256 {w.sha256[:12]}…) "
                              f"are not the manifest's ({s.entry.sha256[:12]}…): the store is damaged; run "
                              "`stemvault verify`; nothing was delivered")
        m = s.entry.measured
        files.append({"file": s.name, "source": s.entry.file, "kind": s.entry.kind, "role": s.entry.role,
                      "sha256": w.sha256, "md5": w.md5, "size": w.size,
                      "integrated_lufs": m.get("integrated_lufs"), "true_peak_dbtp": m.get("true_peak_dbtp"),
                      "start_tc": m.get("start_tc")})
        _testseam.pause("export-after-copy")
    raw = vault.objects.read_rev(f"{v.commit}:{CUES_DIR}/{v.cue}/{MANIFEST_NAME}") or b""
    w = sink.add_bytes(MANIFEST_NAME, raw)
    files.append({"file": MANIFEST_NAME, "source": MANIFEST_NAME, "kind": "manifest", "sha256": w.sha256,
                  "md5": w.md5, "size": w.size})
    if o.loudness:
        scratch.mkdir(exist_ok=True)
        _loudness_copies(v, manifest, sources, sink, scratch, o, report, files, say)
    history = [x for x in vault.versions(v.cue) if x.version <= v.version]
    texts = {
        "CHANGELOG.md": changelog(v, history).encode(),
        "CUESHEET.csv": cuesheet([(v, manifest)], settings, o.title).encode(),
        "README.txt": readme(v, manifest, files, report.approval).encode(),
    }
    for name, data in texts.items():
        w = sink.add_bytes(name, data)
        files.append({"file": name, "kind": "document", "sha256": w.sha256, "md5": w.md5, "size": w.size})
    checks = manifest.extra.get("checks") if isinstance(manifest.extra.get("checks"), dict) else {}
    doc = {
        "stemvault_delivery": DELIVERY_FORMAT, "cue": v.cue, "version": str(v.version), "commit": v.commit,
        "title": o.title or settings.cue_field(v.cue, "title") or v.cue,
        "mix": next((f["file"] for f in files if f.get("source") == manifest.mix), None),
        "exported": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "approval": report.approval,
        "checks": {"null_test_residual_db": (checks or {}).get("null_test_residual_db"),
                   "errors": (checks or {}).get("errors"), "warnings": (checks or {}).get("warnings"),
                   "findings": list(manifest.extra.get("finding", []))},
        "loudness_copies": report.loudness,
        "files": files,
    }
    sink.add_bytes(DELIVERY_JSON, (json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n").encode())
    if o.previews:
        scratch.mkdir(exist_ok=True)
        _previews(v, manifest, sources, sink, scratch, report, say)
    # The sums last: over every file above (previews excepted), in the order written.
    sink.add_bytes("SHA256SUMS", "".join(f"{w.sha256}  {w.path}\n" for w in sink.written).encode(), summed=False)
    sink.add_bytes("MD5SUMS", "".join(f"{w.md5}  {w.path}\n" for w in list(sink.written)).encode(), summed=False)
    report.files = files


def _target_label(t: float) -> str:
    return f"{t:g}LUFS"


def _with_suffix(name: str, label: str) -> str:
    base, dot, ext = name.rpartition(".")
    if not dot:
        base, ext = name, ""
    sep = " " if " " in base else "_"
    return f"{base}{sep}{label}" + (f".{ext}" if ext else "")


def _loudness_copies(v: Version, manifest: Manifest, sources: list[_Source], sink: Sink, scratch: Path,
                     o: ExportOptions, report: ExportReport, files: list[dict[str, Any]], say: Progress) -> None:
    from audio.loudness import measure_file
    from audio.normalize import measure_peak, plan_gain, write_gained

    mix = next((s for s in sources if s.entry.file == manifest.mix and s.lfs is not None), None)
    if mix is None or mix.lfs is None:
        raise UsageError(f"{v.ref} has no mix to normalise: --loudness needs the version's mix "
                         "(commit it with --mix)")
    gained = [mix] + ([s for s in sources if s is not mix and s.lfs is not None and s.entry.kind != "tempo"]
                      if o.loudness_stems else [])
    say(f"measuring {visible(mix.entry.file)}…")
    base = measure_file(mix.lfs)
    if base.integrated_lufs is None:
        raise UsageError(f"{manifest.mix} of {v.ref} has no measurable loudness (silence?): no loudness copies")
    peak = measure_peak([s.lfs for s in gained if s.lfs is not None]) if o.loudness_stems else base.true_peak_dbtp
    for target in o.loudness:
        plan = plan_gain(base.integrated_lufs, peak, target, o.ceiling_dbtp)
        folder = f"loudness_{_target_label(target)}"
        entry: dict[str, Any] = {"target_lufs": target, "ceiling_dbtp": o.ceiling_dbtp,
                                 "gain_db": round(plan.gain_db, 3), "limited_by_ceiling": plan.limited,
                                 "files": []}
        if plan.limited:
            report.warnings.append(
                f"{_target_label(target)}: the true-peak ceiling ({o.ceiling_dbtp:g} dBTP) stops the gain at "
                f"{plan.gain_db:+.2f} dB: the copy reaches {plan.expected_lufs:.1f} LUFS, not {target:g} "
                "(no limiter is applied)")
        for s in gained:
            assert s.lfs is not None
            name = _with_suffix(s.name, _target_label(target))
            out = scratch / name
            say(f"writing {folder}/{visible(name)} ({plan.gain_db:+.2f} dB)")
            tref = s.entry.measured.get("time_reference")
            write_gained(s.lfs, out, plan.gain_db, time_reference=int(tref or 0),
                         description=f"stemvault {v.ref} {s.entry.file} at {target:g} LUFS target")
            got = measure_file(out)  # measured again, from what was written
            w = sink.add_file(f"{folder}/{name}", out)
            out.unlink()
            rec = {"file": f"{folder}/{name}", "source": s.entry.file, "kind": f"loudness-{s.entry.kind}",
                   "sha256": w.sha256, "md5": w.md5, "size": w.size, "gain_db": round(plan.gain_db, 3),
                   "integrated_lufs": None if got.integrated_lufs is None else round(got.integrated_lufs, 2),
                   "true_peak_dbtp": None if got.true_peak_dbtp is None else round(got.true_peak_dbtp, 2)}
            entry["files"].append(rec)
            files.append(rec)
        report.loudness.append(entry)


def _previews(v: Version, manifest: Manifest, sources: list[_Source], sink: Sink, scratch: Path,
              report: ExportReport, say: Progress) -> None:
    from audio.normalize import FOLD_DOWN_LAYOUTS, mp3_support, write_preview_mp3

    how = mp3_support()
    if how is None:
        report.warnings.append("previews skipped: no MP3 encoder here (this libsndfile was built without MPEG; 1.1 and later have it)")
        return
    chosen = [s for s in sources if s.lfs is not None and (
        s.entry.file == manifest.mix or int(s.entry.measured.get("channels", 0) or 0) in FOLD_DOWN_LAYOUTS)]
    for s in chosen:
        assert s.lfs is not None
        stereo = int(s.entry.measured.get("channels", 0) or 0) in FOLD_DOWN_LAYOUTS
        base = s.name.rpartition(".")[0] or s.name
        name = f"{base}{' ' if ' ' in base else '_'}{'stereo-preview' if stereo else 'preview'}.mp3"
        out = scratch / name
        say(f"preview {PREVIEWS_DIR}/{visible(name)} ({how})")
        write_preview_mp3(s.lfs, out)
        sink.add_file(f"{PREVIEWS_DIR}/{name}", out, summed=False)
        out.unlink()
        report.previews.append(f"{PREVIEWS_DIR}/{name}")


def _outside_vault(vault: Vault, dest: Path) -> None:
    """Refuse a ``dest`` in the vault's cue folders or its .git: a package there is audio in the
    working folder that no version holds (``verify`` then fails), or inside git's own files."""
    real = dest.resolve()
    for inner in (vault.root / CUES_DIR, vault.git_dir):
        base = inner.resolve()
        if real == base or base in real.parents:
            raise UsageError(f"{dest} is inside the vault ({inner.name}/): a delivery goes outside the "
                             "vault's cue folders and .git, e.g. ~/deliveries/")


def _newer_void(vault: Vault, ref: str, v: Version) -> list[str]:
    """For ``CUE@approved``: a warning naming a newer version's approval that does not count (the
    supervisor may expect that version; the export delivers the latest approval that counts)."""
    from vcs.naming import parse_ref

    if not parse_ref(ref).approved:
        return []
    for x in vault.versions(v.cue):
        if x.commit == v.commit:
            break
        if x.void_approval is not None:
            a = x.void_approval
            return [f"{x.ref}'s approval {a.tag} does not count ({a.why or 'the vault rules it out'}): "
                    f"delivering {v.ref}, the latest approval that counts"]
    return []


# ----- every approved cue -----------------------------------------------------------------------

def export_all_approved(vault: Vault, dest: Path, options: ExportOptions | None = None,
                        progress: Progress | None = None) -> tuple[list[ExportReport], list[str], str]:
    """Every cue's latest approved version as a package in ``dest``, and one CUESHEET.csv for
    them all; returns (reports, cues without an approved version, the cue sheet's path).

    Raises:
        UsageError: no cue has an approved version; CUESHEET.csv or a package exists (without force).
    """
    o = options or ExportOptions()
    settings = DeliverySettings.load(vault)
    chosen: list[Version] = []
    skipped: list[str] = []
    void: list[Version] = []  # approvals the vault's rules do not count: named when nothing is delivered
    for cue in vault.cues():
        versions = vault.versions(cue)
        approved = [x for x in versions if x.approval]
        if approved:
            chosen.append(approved[0])
        else:
            skipped.append(cue)
            void += [x for x in versions if x.void_approval][:1]
    if not chosen and void:
        first = void[0].void_approval
        assert first is not None
        more = f" (and {len(void) - 1} more)" if len(void) > 1 else ""
        raise UsageError(f"no cue has an approved version: {first.tag}{more} does not count "
                         f"({first.why or 'the vault rules it out'}); see `stemvault verify`")
    if not chosen:
        raise UsageError("no cue has an approved version: approve one with `stemvault approve CUE@VERSION`")
    dest = dest.expanduser().absolute()
    _outside_vault(vault, dest)
    o = dataclasses.replace(o, day=o.day or dt.date.today())  # one date for every package
    assert o.day is not None
    sheet = dest / "CUESHEET.csv"
    there = [p.name for p in [sheet, *(dest / (package_name(x, o.day) + (".zip" if o.zip else "")) for x in chosen)]
             if p.exists()]
    if there and not o.force:
        raise UsageError(f"{', '.join(there)} exist{'s' if len(there) == 1 else ''} in {dest}: a delivery is never "
                         "overwritten; remove them, choose another folder, or pass --force")
    reports = [export(vault, f"{x.cue}@{x.version}", dest, o, progress) for x in chosen]
    text = cuesheet([(x, vault.manifest_at(x)) for x in chosen], settings)
    tmp = dest / f".CUESHEET.csv.partial-{os.getpid()}"
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, sheet)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise _disk_error(e, dest) from None
    return reports, skipped, str(sheet)
