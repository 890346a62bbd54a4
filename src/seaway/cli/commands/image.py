"""``seaway image import|ls|rm``: root filesystem tarballs in, docker's image table out.
Seaway has no registry client, so there is no pull."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import IO, Any

from seaway.cli import args as a
from seaway.cli.client import Client, DaemonError, query, segment
from seaway.cli.commands import for_each
from seaway.cli.output import UsageError, ago, check_format, go_time, human_size, json_lines, short_id, table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("image", help="manage images")
    cmds = parser.add_subparsers(dest="image_command", required=True, metavar="COMMAND")

    p = cmds.add_parser("import", help="import a root filesystem tarball as an image")
    p.add_argument("file", metavar="FILE|-")
    p.add_argument("reference", nargs="?", default="", metavar="REPOSITORY[:TAG]")
    p.add_argument("-m", "--message", default="")
    p.set_defaults(func=import_)

    p = cmds.add_parser("ls", aliases=["list"], help="list images")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--format")
    p.add_argument("--no-trunc", action="store_true")
    p.set_defaults(func=ls)

    p = cmds.add_parser("rm", aliases=["remove"], help="remove images")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(func=rm)


def _open(path: str) -> tuple[IO[bytes], dict[str, str]]:
    """The tarball to send, with its length when it is a regular file (else chunked)."""
    if path == "-":
        return sys.stdin.buffer, {}
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise UsageError(f"open {path}: {exc.strerror}") from None
    return fh, {"Content-Length": str(os.fstat(fh.fileno()).st_size)}


def import_(client: Client, opts: argparse.Namespace) -> int:
    repo, tag = a.reference(opts.reference) if opts.reference else ("", "")
    params = query({"fromSrc": "-", "repo": repo, "tag": tag, "message": opts.message})
    body, headers = _open(opts.file)
    headers["Content-Type"] = "application/x-tar"
    try:
        stream = client.stream("POST", "/images/create" + params, body, headers)
    finally:
        if body is not sys.stdin.buffer:
            body.close()
    try:
        for line in stream.body:
            if not line.strip():
                continue
            message = json.loads(line)
            if message.get("error"):
                raise DaemonError(500, message["error"])
            if message.get("status"):
                print(message["status"])
    finally:
        stream.close()
    return 0


def _rows(images: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """One row per tag, as docker lists them (untagged images as <none>)."""
    rows = []
    for image in images:
        for ref in image.get("RepoTags") or ["<none>:<none>"]:
            repo, tag = a.reference(ref)
            rows.append((repo, tag or "<none>", image))
    return sorted(rows, key=lambda r: -r[2].get("Created", 0))


def _ls_json(repo: str, tag: str, ident: str, image: dict[str, Any]) -> dict[str, Any]:
    size = human_size(image.get("Size", 0))
    return {
        "Containers": "N/A",
        "CreatedAt": go_time(image.get("Created", 0)),
        "CreatedSince": ago(image.get("Created", 0)),
        "Digest": "<none>",
        "ID": ident,
        "Repository": repo,
        "SharedSize": "N/A",
        "Size": size,
        "Tag": tag,
        "UniqueSize": "N/A",
        "VirtualSize": size,
    }


def ls(client: Client, opts: argparse.Namespace) -> int:
    as_json = check_format(opts.format)
    rows = _rows(client.get("/images/json"))
    ident = (lambda i: i["Id"]) if opts.no_trunc else (lambda i: short_id(i["Id"]))
    if opts.quiet:
        for image_id in dict.fromkeys(ident(r[2]) for r in rows):
            print(image_id)
    elif as_json:
        json_lines(_ls_json(repo, tag, ident(img), img) for repo, tag, img in rows)
    else:
        cells = [(r, t, ident(i), ago(i.get("Created", 0)), human_size(i.get("Size", 0))) for r, t, i in rows]
        table(("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"), cells)
    return 0


def rm(client: Client, opts: argparse.Namespace) -> int:
    def remove(name: str) -> None:
        for item in client.delete(f"/images/{segment(name)}" + query({"force": opts.force})) or []:
            for key, value in item.items():
                print(f"{key}: {value}")

    return for_each(opts.images, remove, echo=False)
