"""The one place where stemvault talks to git and git-lfs (over the ~600-line rule: every git
invocation lives here by contract — import-linter — so the module grows with the verbs).

Public surface:
    run(*args, cwd, env=None, check=True, input=None, transfer=False) -> CompletedProcess[bytes]
        (``transfer``: under a leader that ends git, git-lfs and ssh when stemvault dies);
    run_ticking(*args, cwd, tick): a transfer that calls ``tick()`` while it runs (progress)
    clean_env(extra) -> dict; require_tools(); lfs_version()
    Objects(repo_path): reads blobs/commits/tags from the object store (GitPython's persistent
        ``git cat-file --batch``), by oid or by ``<commit>:<path>``, never the LFS content
    small typed queries: rev_parse, head, ls_tree, config_get, identity, ...
    small typed commands: init, lfs_install_local, add, commit, hash_object, tag_annotated
    notes: notes_list, notes_show, notes_add_blob; refs: for_each_ref (-> Ref); history: log_z
    the index and work tree: unstage, restore_from_head, clean
    signatures: delete_tag, verify_tag (against given keys only), gpg_trust_keys, gpg_stop
    a pre-receive hook's reads (through the push's quarantine): object_type, object_size,
        read_object, new_commits

It is over the ~600-line rule on purpose: it is the one module allowed to start git (and gpg,
for signatures) — the import contract in pyproject.toml — so every typed helper lives here.

Everything runs with a cleaned environment: stray ``GIT_DIR``/``GIT_INDEX_FILE``/... from the
caller's shell would point git at another repository; the identity variables are kept because
they are how a user says who they are.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from vcs.errors import GitFailed, ToolMissing, UsageError, VaultBusy

__all__ = [
    "LsTreeEntry", "Objects", "Ref", "add", "clean", "clean_env", "commit", "config_get", "current_branch",
    "delete_tag", "for_each_ref", "gpg_stop", "gpg_trust_keys", "hash_object", "head", "identity", "init", "lfs_install_local", "lfs_version",
    "log_z", "ls_tree", "new_commits", "notes_add_blob", "notes_list", "notes_show", "object_size", "object_type",
    "read_object", "remote_refs_containing", "require_tools", "restore_from_head", "rev_parse", "run",
    "tag_annotated", "unstage", "verify_tag",
]

_KEEP = {
    "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE",
    "GIT_LFS_SKIP_SMUDGE", "GIT_TERMINAL_PROMPT", "GIT_SSH", "GIT_SSH_COMMAND",
    "GIT_ASKPASS", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
    "GIT_TRACE", "GIT_CURL_VERBOSE", "GIT_SSL_NO_VERIFY", "GIT_LFS_PROGRESS",
}


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment less stray ``GIT_*`` variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP}
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"  # messages we parse stay in English
    if extra:
        env.update(extra)
    return env


# A transfer's git runs under vcs/_leader.py (see there): when stemvault dies, even by SIGKILL,
# the leader ends git, its hooks, git-lfs and ssh, so no transfer goes on (or hangs) alone.
_LEADER = Path(__file__).with_name("_leader.py")


def _transfer_cmd(args: tuple[str, ...]) -> list[str]:
    """``git *args`` under the leader that ends it when stemvault dies (Linux; elsewhere plain git)."""
    if not os.path.isdir("/proc/self"):
        return ["git", *args]
    return [sys.executable, "-I", "-S", str(_LEADER), str(os.getpid()), "git", *args]


def _run_led(cmd: list[str], *, cwd: str | os.PathLike[str], env: dict[str, str],
             input: bytes | None) -> subprocess.CompletedProcess[bytes]:
    """subprocess.run for a command under the leader, except that an exception while waiting
    (KeyboardInterrupt...) ends it with SIGTERM, which the leader passes on to everything under
    it (subprocess.run's SIGKILL would leave git and git-lfs running)."""
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE if input is not None else None,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            out, err = proc.communicate(input)
        except BaseException:
            proc.terminate()
            proc.wait()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run(
    *args: str,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input: bytes | None = None,
    transfer: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git *args`` in ``cwd``; raise GitFailed (command, code, stderr) when ``check``.

    ``transfer``: a command that talks to a remote (clone, fetch, push, git-lfs): it runs under a
    leader that ends it and everything it started when stemvault dies, however it dies."""
    cmd = _transfer_cmd(args) if transfer else ["git", *args]
    try:
        if transfer:
            proc = _run_led(cmd, cwd=cwd, env=clean_env(env), input=input)
        else:
            proc = subprocess.run(cmd, cwd=cwd, env=clean_env(env), input=input,
                                  capture_output=True, check=False)
    except FileNotFoundError:
        if shutil.which("git") is None:
            raise ToolMissing("git is not installed: install it (apt-get install git)") from None
        # git is there: the folder to run it in is not
        raise UsageError(f"{cwd}: no such folder: check the path") from None
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        if "index.lock" in err and "exists" in err:
            raise VaultBusy("another git process is working in this vault (.git/index.lock is held): "
                            "wait for it to finish and run this again")
        raise GitFailed(list(args), proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc


def lfs_version(cwd: str | os.PathLike[str] = ".") -> str | None:
    """git-lfs's version line, or None when git-lfs is not installed."""
    if shutil.which("git") is None:
        return None
    proc = run("lfs", "version", cwd=cwd, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip()


def require_tools(cwd: str | os.PathLike[str] = ".") -> None:
    """Raise ToolMissing with what to install when git or git-lfs is absent."""
    if shutil.which("git") is None:
        raise ToolMissing("git is not installed: install it (apt-get install git) and run again")
    if lfs_version(cwd) is None:
        raise ToolMissing("git-lfs is not installed: install it (apt-get install git-lfs) and run again")


def rev_parse(ref: str, *, cwd: Path) -> str | None:
    """The object id ``ref`` names, or None."""
    proc = run("rev-parse", "--verify", "-q", ref, cwd=cwd, check=False)
    return (proc.stdout.decode().strip() or None) if proc.returncode == 0 else None


def head(cwd: Path) -> str | None:
    """The commit HEAD points at, or None in a repository with no commit yet."""
    return rev_parse("HEAD", cwd=cwd)


def current_branch(cwd: Path) -> str | None:
    """The checked-out branch's short name, or None (a detached HEAD, or no commit yet)."""
    proc = run("symbolic-ref", "--quiet", "--short", "HEAD", cwd=cwd, check=False)
    name = proc.stdout.decode("utf-8", "replace").strip()
    return name if proc.returncode == 0 and name else None


def config_get(key: str, *, cwd: Path) -> str | None:
    proc = run("config", "--get", key, cwd=cwd, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def identity(cwd: Path) -> tuple[str, str] | None:
    """(name, email) git would record as the author here, or None when it has none."""
    proc = run("var", "GIT_AUTHOR_IDENT", cwd=cwd, check=False)
    if proc.returncode != 0:
        return None
    line = proc.stdout.decode("utf-8", "replace").strip()
    # "Name <email> 1700000000 +0000"
    name, _, rest = line.partition(" <")
    email = rest.split(">", 1)[0]
    if not name or not email:
        return None
    return name, email


def init(cwd: Path, *, branch: str = "main") -> None:
    """Make ``cwd`` a git repository whose first branch is ``branch``."""
    run("init", "-q", "-b", branch, cwd=cwd)


def init_bare(path: Path, *, branch: str = "main") -> None:
    """Make ``path`` (an empty or missing folder) a bare repository whose first branch is ``branch``."""
    run("init", "-q", "--bare", "-b", branch, str(path), cwd=path.parent)


def lfs_install_local(cwd: Path) -> None:
    """Install git-lfs's filters and hooks in this repository only."""
    run("lfs", "install", "--local", cwd=cwd)


def add(*paths: str, cwd: Path, all_changes: bool = False, literal: bool = False) -> None:
    """Stage ``paths`` (relative to ``cwd``). ``all_changes``: removals too (``-A``);
    ``literal``: the paths are names, never patterns (a stem may be called ``[x].wav``)."""
    args = (["--literal-pathspecs"] if literal else []) + ["add"] + (["-A"] if all_changes else [])
    run(*args, "--", *paths, cwd=cwd)


def commit(message: str, *paths: str, cwd: Path, author: tuple[str, str] | None = None,
           verbatim: bool = False, hooks: bool = True) -> None:
    """Commit what is staged (with ``paths``: only those paths, as they are in the work tree).

    The message goes through stdin, never the command line. ``author``: (name, email) recorded as
    the author, git's identity otherwise; ``verbatim``: the message kept byte for byte (trailers
    and all: no clean-up); ``hooks=False``: the repository's commit hooks do not run."""
    args = ["commit", "-q", "-F", "-"]
    if verbatim:
        args.append("--cleanup=verbatim")
    if not hooks:
        args.append("--no-verify")
    if author is not None:
        args += ["--author", f"{author[0]} <{author[1]}>"]
    if paths:
        args += ["--", *paths]
    run(*args, cwd=cwd, input=message.encode("utf-8"))


def ls_files(*paths: str, cwd: Path, untracked: bool = False, ignored: bool = True) -> list[str]:
    """Tracked files under ``paths`` (``untracked``: the files git does not hold there — ignored
    ones included unless ``ignored=False``), relative to ``cwd``."""
    args = ["ls-files", "-z"] + (["--others"] if untracked else []) + ([] if ignored else ["--exclude-standard"])
    return list(iter_z(run(*args, "--", *paths, cwd=cwd).stdout))


def staged(*paths: str, cwd: Path) -> dict[str, str]:
    """The index entries under ``paths``: path -> blob id."""
    out: dict[str, str] = {}
    for rec in iter_z(run("ls-files", "-s", "-z", "--", *paths, cwd=cwd).stdout):
        meta, path = rec.split("\t", 1)
        out[path] = meta.split()[1]
    return out


def unstage_all(*paths: str, cwd: Path) -> None:
    """Drop ``paths`` from the index (a repository with no commit yet; best effort)."""
    run("rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", *paths, cwd=cwd, check=False)


@dataclass(frozen=True)
class TreeChange:
    old: str  # blob ids ("000..." when absent)
    new: str
    status: str  # A, D, M, T...
    path: str


def diff_tree(a: str, b: str, *paths: str, cwd: Path, env: Mapping[str, str] | None = None) -> list[TreeChange]:
    """What differs between the trees of commits ``a`` and ``b`` under ``paths`` (no renames)."""
    recs = list(iter_z(run("diff-tree", "-r", "-z", "--no-renames", a, b, "--", *paths, cwd=cwd, env=env).stdout))
    out = []
    for meta, path in zip(recs[::2], recs[1::2], strict=False):
        _, _, old, new, status = meta.lstrip(":").split(" ")[:5]  # ":100644 100644 <old> <new> M"
        out.append(TreeChange(old, new, status, path))
    return out


def touched_by(commit: str, *paths: str, cwd: Path) -> list[str]:
    """The files under ``paths`` that ``commit`` changed (against its first parent)."""
    return list(iter_z(run("diff-tree", "--no-commit-id", "-r", "-z", "--name-only", "--root", commit,
                           "--", *paths, cwd=cwd).stdout))


@dataclass(frozen=True)
class CommitInfo:
    oid: str
    short: str
    author: str
    email: str
    date: str  # ISO 8601
    subject: str


def commits(rev: str, *paths: str, cwd: Path, reverse: bool = False, max_count: int | None = None,
            check: bool = True) -> list[CommitInfo]:
    """The commits of ``rev`` (a range such as ``a..HEAD``, or one commit) touching ``paths``."""
    args = ["log", "-z", "--format=%H%x00%h%x00%an%x00%ae%x00%aI%x00%s"]
    args += (["--reverse"] if reverse else []) + ([f"-{max_count}"] if max_count else [])
    proc = run(*args, rev, "--", *paths, cwd=cwd, check=check)
    if proc.returncode != 0:
        return []
    fields = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    return [CommitInfo(*(f.strip("\n") for f in fields[i:i + 6])) for i in range(0, len(fields) - 5, 6)]


def history_mentions(pattern: str, *, cwd: Path) -> str | None:
    """The added and removed lines, in every commit of every ref, of the changes whose text
    matches the regular expression ``pattern`` (``log --all -p -G``); None when git cannot tell."""
    proc = run("log", "--all", "--no-ext-diff", "--no-textconv", "--format=", "-p", "-G", pattern,
               cwd=cwd, check=False)
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def remotes(*, cwd: Path) -> list[str]:
    """The names of the repository's remotes."""
    return run("remote", cwd=cwd, check=False).stdout.decode("utf-8", "surrogateescape").split()


def remote_refs_containing(commit: str, *, cwd: Path) -> list[str]:
    """The remote-tracking refs (``origin/main``…) whose history contains ``commit``: what some
    remote is known to have received. Empty when none does (or the commit is unknown)."""
    proc = run("for-each-ref", "--format=%(refname:strip=2)", "--contains", commit, "refs/remotes/",
               cwd=cwd, check=False)
    if proc.returncode != 0:
        return []
    return proc.stdout.decode("utf-8", "surrogateescape").split()


def bare_git_dir(path: Path) -> Path | None:
    """The bare repository ``path`` is in, or None (not a bare repository, or no git there)."""
    proc = run("rev-parse", "--is-bare-repository", "--absolute-git-dir", cwd=path, check=False)
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if proc.returncode != 0 or len(lines) != 2 or lines[0].strip() != "true":
        return None
    return Path(lines[1])


def status_readonly(*paths: str, cwd: Path) -> list[tuple[str, str]]:
    """(two-letter code, path) of ``git status --porcelain`` under ``paths``, without writing:
    no optional index refresh, and a failing LFS clean filter leaves the file's bytes to
    compare (git then calls it modified) instead of failing the command."""
    out = run("-c", "filter.lfs.required=false", "--no-optional-locks", "status", "--porcelain", "-z",
              "--", *paths, cwd=cwd).stdout
    return [(rec[:2], rec[3:]) for rec in iter_z(out)]


def hash_object(data: bytes, *, cwd: Path) -> str:
    """Write ``data`` as a blob; its object id."""
    return run("hash-object", "-w", "--stdin", cwd=cwd, input=data).stdout.decode().strip()


def tag_annotated(name: str, commit: str, message: bytes, *, cwd: Path, sign: bool = False,
                  tagger: tuple[str, str] | None = None) -> None:
    """An annotated tag (signed with ``sign``) whose message is ``message``, byte for byte;
    ``tagger``: (name, email) recorded as the tagger instead of git's identity."""
    env = {"GIT_COMMITTER_NAME": tagger[0], "GIT_COMMITTER_EMAIL": tagger[1]} if tagger else None
    run("tag", "--cleanup=verbatim", "-F", "-", "-s" if sign else "-a", name, commit, cwd=cwd,
        input=message, env=env)


def delete_tag(name: str, *, cwd: Path) -> None:
    """Delete the tag ``name`` (it must exist)."""
    run("tag", "-d", name, cwd=cwd)


def verify_tag(oid: str, *, cwd: Path, allowed_signers: Path, gnupghome: Path,
               env: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """(git verifies the signature of tag object ``oid``, git's raw verification output).

    Only the keys given here count: SSH signatures against the ``allowed_signers`` file, OpenPGP
    signatures against the keyring in ``gnupghome`` (whatever the user's own git config says);
    a signer must be fully trusted there (``gpg.minTrustLevel=fully``: an SSH key with a
    principal in the file, an OpenPGP key with ultimate owner trust). ``env``: extra variables
    (a pre-receive hook's quarantine).
    """
    proc = run("-c", f"gpg.ssh.allowedSignersFile={allowed_signers}", "-c", "gpg.minTrustLevel=fully",
               "verify-tag", "--raw", oid, cwd=cwd, check=False,
               env={**(env or {}), "GNUPGHOME": str(gnupghome)})
    return proc.returncode == 0, (proc.stdout + proc.stderr).decode("utf-8", "replace")


def notes_list(ref: str, *, cwd: Path) -> list[tuple[str, str]]:
    """(note blob, annotated commit) of every note under ``ref``; [] when there is none."""
    proc = run("notes", f"--ref={ref}", "list", cwd=cwd, check=False)
    out = []
    for line in proc.stdout.decode().splitlines():
        blob, _, commit = line.partition(" ")
        out.append((blob, commit))
    return out


def notes_show(ref: str, commit: str, *, cwd: Path) -> bytes:
    """The note on ``commit`` under ``ref``; b"" when it has none."""
    return run("notes", f"--ref={ref}", "show", commit, cwd=cwd, check=False).stdout


def notes_add_blob(ref: str, commit: str, blob: str, *, cwd: Path, who: tuple[str, str] | None = None) -> None:
    """Make the blob ``blob`` the note on ``commit`` (replacing any): reused verbatim, no
    message clean-up touches the text. ``who``: (name, email) the notes ref's commit records
    instead of git's identity."""
    env = ({"GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1], "GIT_COMMITTER_NAME": who[0],
            "GIT_COMMITTER_EMAIL": who[1]} if who else None)
    run("notes", f"--ref={ref}", "add", "-f", "-C", blob, commit, cwd=cwd, env=env)


@dataclass(frozen=True)
class Ref:
    name: str  # without its first two components: "1M03/v1/approved" for refs/tags/1M03/v1/approved
    oid: str
    type: str  # of the object it points at: "tag", "commit", ...
    peeled: str = ""  # for an annotated tag: the object it tags


def for_each_ref(prefix: str, *, cwd: Path) -> list[Ref]:
    """The refs under ``prefix`` (e.g. ``refs/tags/``)."""
    proc = run("for-each-ref", "--format=%(refname:strip=2)%00%(objectname)%00%(objecttype)%00%(*objectname)",
               prefix, cwd=cwd)
    out = []
    for line in proc.stdout.decode("utf-8", "surrogateescape").splitlines():
        name, oid, typ, peeled = line.split("\0")
        out.append(Ref(name, oid, typ, peeled))
    return out


def log_z(fmt: str, *args: str, cwd: Path, env: Mapping[str, str] | None = None) -> list[str] | None:
    """``git log -z --format=<fmt> *args`` split at NULs (the format's own %x00 included);
    None in a repository with no commit yet.

    Raises:
        GitFailed: when log fails in a repository that has commits.
    """
    cmd = ["log", "-z", f"--format={fmt}", *args]
    proc = run(*cmd, cwd=cwd, check=False, env=env)
    if proc.returncode != 0:
        # Asking whether there is a HEAD only when log fails saves a git call on every read.
        if head(cwd) is None:
            return None
        raise GitFailed(cmd, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout.decode("utf-8", "surrogateescape").split("\0")


def unstage(*paths: str, cwd: Path) -> None:
    """Put the index entries of ``paths`` back as they are at HEAD (best effort)."""
    run("reset", "-q", "HEAD", "--", *paths, cwd=cwd, check=False)


def restore_from_head(*paths: str, cwd: Path) -> None:
    """Put the work-tree files ``paths`` back as they are at HEAD (they must be in HEAD)."""
    run("checkout", "-q", "HEAD", "--", *paths, cwd=cwd)


def clean(*paths: str, cwd: Path) -> None:
    """Remove untracked files and folders under ``paths`` (best effort)."""
    run("clean", "-fdq", "--", *paths, cwd=cwd, check=False)


@dataclass(frozen=True)
class LsTreeEntry:
    mode: str
    type: str
    oid: str
    size: int | None
    path: str


def ls_tree(treeish: str, *paths: str, cwd: Path, recursive: bool = True) -> list[LsTreeEntry]:
    """Entries of ``treeish`` under ``paths`` (NUL-separated: any file name survives)."""
    args = ["ls-tree", "-z", "-l"]
    if recursive:
        args.append("-r")
    args += [treeish, "--", *paths]
    out = run(*args, cwd=cwd).stdout.decode("utf-8", "surrogateescape")
    entries = []
    for rec in out.split("\0"):
        if not rec:
            continue
        meta, path = rec.split("\t", 1)
        mode, typ, oid, size = meta.split()
        entries.append(LsTreeEntry(mode, typ, oid, None if size == "-" else int(size), path))
    return entries


class Objects:
    """Reads objects from a repository's object store through one long-lived cat-file process.

    GitPython keeps ``git cat-file --batch`` open, so reading hundreds of manifests and pointers
    costs one process, not hundreds. Only git objects are read: never the LFS content.

    Thread-safe: the TUI's workers share one vault, and two threads talking to the one cat-file
    process at once would read each other's answers; a lock makes each request and its reply one
    step.
    """

    def __init__(self, repo_path: Path) -> None:
        import git  # GitPython; imported here so that `stemvault --help` stays quick

        self._lock = threading.RLock()
        self._repo = git.Repo(str(repo_path))
        env = clean_env()
        # GitPython inherits os.environ: drop the stray GIT_* variables the same way run() does.
        unset = {k: None for k in os.environ if k.startswith("GIT_") and k not in env}
        self._repo.git.update_environment(**unset)

    def read(self, oid: str) -> bytes:
        """The content of the blob (or commit, tag) ``oid``."""
        from git.exc import BadObject  # GitPython's re-export of gitdb's error (gitdb is not ours)

        try:
            with self._lock:
                return bytes(self._repo.odb.stream(bytes.fromhex(oid)).read())
        except (ValueError, BadObject) as e:
            raise GitFailed(["cat-file", oid], 128, str(e)) from None

    def read_rev(self, rev: str) -> bytes | None:
        """The content of the object ``rev`` names (an oid, ``<commit>:<path>``...), or None when
        it names nothing. One round trip on the same cat-file process: no ``rev-parse`` first."""
        got = self.read_rev_oid(rev)
        return None if got is None else got[1]

    def read_rev_oid(self, rev: str) -> tuple[str, bytes] | None:
        """(object id, content) of what ``rev`` names, or None."""
        if "\n" in rev:  # the batch protocol is one name per line
            return None
        with self._lock:
            try:
                oid, _, _, stream = self._repo.git.stream_object_data(rev)
            except ValueError:  # "<rev> missing"
                return None
            data = bytes(stream.read())
        return (oid.decode() if isinstance(oid, bytes) else str(oid)), data

    def info(self, oid: str) -> tuple[str, int]:
        """(type, size) of object ``oid``."""
        with self._lock:
            i = self._repo.odb.info(bytes.fromhex(oid))
        return i.type.decode(), int(i.size)

    def close(self) -> None:
        with self._lock:
            self._repo.close()

    def __enter__(self) -> Objects:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_z(data: bytes) -> Iterator[str]:
    """Split NUL-terminated git output into strings."""
    for rec in data.decode("utf-8", "surrogateescape").split("\0"):
        if rec:
            yield rec


# ----- remotes (vcs.remote): clone, fetch, push, notes merge ---------------------------------

def clone(url: str, dest: Path, *, cwd: Path, lazy: bool = False) -> None:
    """``git clone url dest``; ``lazy``: no LFS object is downloaded (the pointers are checked out)."""
    # automultiplex off from the start: git-lfs 3.3 can hang with SSH multiplexing on
    run("clone", "--quiet", "-c", "lfs.ssh.automultiplex=false", "--", url, str(dest), cwd=cwd,
        env={"GIT_LFS_SKIP_SMUDGE": "1"} if lazy else None, transfer=True)


def config_set(key: str, value: str, *, cwd: Path) -> None:
    run("config", "--local", key, value, cwd=cwd)


def remote_url(name: str, *, cwd: Path) -> str | None:
    return config_get(f"remote.{name}.url", cwd=cwd)


def fetch(remote: str, *refspecs: str, cwd: Path) -> None:
    """``git fetch --no-tags remote refspecs`` (GitFailed with git's stderr when it fails)."""
    run("fetch", "--quiet", "--no-tags", remote, *refspecs, cwd=cwd, transfer=True)


def push(remote: str, *refspecs: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``git push remote refspecs`` (the LFS pre-push hook uploads the objects); not checked:
    the caller tells a rejection from a failure."""
    return run("push", "--porcelain", remote, *refspecs, cwd=cwd, check=False, transfer=True)


def is_ancestor(a: str, b: str, *, cwd: Path) -> bool:
    return run("merge-base", "--is-ancestor", a, b, cwd=cwd, check=False).returncode == 0


def count_between(a: str, b: str, *, cwd: Path) -> tuple[int, int]:
    """(commits only in ``a``, commits only in ``b``)."""
    out = run("rev-list", "--left-right", "--count", f"{a}...{b}", cwd=cwd).stdout.decode().split()
    return int(out[0]), int(out[1])


def merge_ff_only(ref: str, *, cwd: Path) -> None:
    run("merge", "--ff-only", "--quiet", ref, cwd=cwd, transfer=True)  # smudging downloads audio


def update_ref(ref: str, oid: str, *, cwd: Path) -> None:
    run("update-ref", ref, oid, cwd=cwd)


def commit_tree(tree: str, *parents: str, message: str, cwd: Path) -> str:
    args = ["commit-tree", tree]
    for p in parents:
        args += ["-p", p]
    return run(*args, "-m", message, cwd=cwd).stdout.decode().strip()


# git-lfs retries a failed object 8 times by default, with a growing pause: a network blip is worth
# a retry or two, but an object the server does not have (a 404, final) then costs minutes. Used
# when the repository (or the user's config) sets no lfs.transfer.maxretries of its own.
LFS_MAX_RETRIES = 2


def run_ticking(*args: str, cwd: Path, tick: Callable[[], None], interval: float = 0.2,
                env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the transfer ``git *args`` (under the leader, see ``run``), calling ``tick()`` every
    ``interval`` seconds while it runs and once at the end; not checked."""
    cmd = _transfer_cmd(args)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=clean_env(env), stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            while True:
                try:
                    proc.wait(timeout=interval)
                    break
                except subprocess.TimeoutExpired:
                    tick()
        except BaseException:
            proc.terminate()  # the leader ends git-lfs and ssh under it
            proc.wait()
            raise
        tick()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())


def lfs_fetch(remote: str, commit: str, paths: list[str], *, cwd: Path,
              tick: Callable[[], None] | None = None) -> None:
    """Download the LFS objects of ``paths`` at ``commit`` (a lazy clone's exclude overridden);
    ``tick`` is called a few times a second while it runs (to show progress).

    Raises:
        GitFailed: git-lfs failed (some objects may have arrived).
    """
    retries = ([] if config_get("lfs.transfer.maxretries", cwd=cwd) is not None
               else ["-c", f"lfs.transfer.maxretries={LFS_MAX_RETRIES}"])
    args = [*retries, "-c", "lfs.fetchexclude=", "lfs", "fetch", remote, commit,
            f"--include={','.join(paths)}", "--exclude="]
    if tick is None:
        run(*args, cwd=cwd, transfer=True)
        return
    proc = run_ticking(*args, cwd=cwd, tick=tick)
    if proc.returncode != 0:
        raise GitFailed(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))


def lfs_checkout(paths: list[str], *, cwd: Path) -> None:
    """Replace the pointers of ``paths`` in the working folder with their (local) LFS objects."""
    run("-c", "lfs.fetchexclude=", "lfs", "checkout", "--", *paths, cwd=cwd)


# ----- a pre-receive hook (vcs.hook): objects read through the push's quarantine ``env`` ------

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def object_type(rev: str, *, cwd: Path, env: Mapping[str, str] | None = None) -> str | None:
    """"commit", "tag", "blob", "tree", or None when ``rev`` names nothing."""
    proc = run("cat-file", "-t", rev, cwd=cwd, env=env, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def object_size(rev: str, *, cwd: Path, env: Mapping[str, str] | None = None) -> int:
    return int(run("cat-file", "-s", rev, cwd=cwd, env=env).stdout.decode().strip())


def read_object(kind: str, rev: str, *, cwd: Path, env: Mapping[str, str] | None = None) -> bytes | None:
    """The raw content of the ``kind`` object ``rev`` names (``commit``, ``tag``, ``blob``;
    ``main:stemvault.toml``), or None when there is none."""
    proc = run("cat-file", kind, rev, cwd=cwd, env=env, check=False)
    return proc.stdout if proc.returncode == 0 else None


def new_commits(tip: str, *, cwd: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """The commits of ``tip`` that no ref of the repository reaches yet, parents first."""
    out = run("rev-list", "--topo-order", "--reverse", tip, "--not", "--all", cwd=cwd, env=env).stdout
    return out.decode().split()


# ----- gpg, for verifying OpenPGP signatures against a vault's own keys (vcs.trust) ----------

def _gpg(home: Path, *args: str, input: bytes | None = None) -> str | None:
    """gpg on the keyring ``home`` (never starting an agent); its stdout, or None on failure."""
    try:
        proc = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--quiet", "--no-autostart", *args],
                              input=input, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def gpg_trust_keys(home: Path, keys: bytes) -> bool:
    """Import the armoured public ``keys`` into the keyring at ``home`` and give every primary
    key in it ultimate owner trust (being in the given keys is what trusts a key); False when
    gpg cannot import them."""
    if _gpg(home, "--import", input=keys) is None:
        return False
    lines = (_gpg(home, "--list-keys", "--with-colons") or "").splitlines()
    primaries = [ln.split(":")[9] for prev, ln in itertools.pairwise(lines)
                 if prev.startswith("pub:") and ln.startswith("fpr:")]
    return _gpg(home, "--import-ownertrust", input="".join(f"{f}:6:\n" for f in primaries).encode()) is not None


def gpg_stop(home: Path) -> None:
    """Stop the gpg-agent (and other daemons) a keyring at ``home`` started (best effort)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=10,
                       check=False)
