"""``/images``: import (``docker import``), commit, list, inspect, tag, remove. Pulling is not offered."""

from __future__ import annotations

import fnmatch
import json
import secrets
from typing import Any

from aiohttp import web

from seaway.daemon.api import fields as f
from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import json_body, json_response
from seaway.daemon.api.schemas import _unix
from seaway.errors import Unsupported
from seaway.runtime.images import Image
from seaway.runtime.reference import parse_tag_target


def summary(image: Image) -> dict[str, Any]:
    return {
        "Id": image.id,
        "ParentId": "",
        "RepoTags": image.repo_tags or ["<none>:<none>"],
        "RepoDigests": [],
        "Created": _unix(image.created),
        "Size": image.size,
        "SharedSize": -1,
        "VirtualSize": image.size,
        "Labels": {},
        "Containers": -1,
    }


def inspect_json(image: Image) -> dict[str, Any]:
    config = {
        "Env": image.env or None, "Cmd": image.cmd or None, "Labels": None, "WorkingDir": "", "Entrypoint": None,
        "Volumes": None,
    }  # fmt: skip
    return {
        # Docker dropped these at API 1.45; kept at every version, since docker-compose 1.29
        # (which asks for the newest version) reads ContainerConfig when it recreates a container
        "Container": "",
        "ContainerConfig": dict(config),
        "Id": image.id,
        "RepoTags": image.repo_tags,
        "RepoDigests": [],
        "Parent": "",
        "Comment": image.comment,
        "Created": image.created,
        "DockerVersion": "",
        "Author": "",
        "Config": config,
        "Architecture": "amd64",
        "Os": "linux",
        "Size": image.size,
        "VirtualSize": image.size,
        "GraphDriver": {"Name": "overlay", "Data": {}},
        "RootFS": {"Type": "layers", "Layers": []},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    }


def _named(tag: str, pattern: str) -> bool:
    """Docker's ``reference`` filter: a shell pattern on ``name`` or ``name:tag``."""
    return fnmatch.fnmatchcase(tag, pattern) or fnmatch.fnmatchcase(tag.rsplit(":", 1)[0], pattern)


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    images = backend.containers.images

    async def create(request: web.Request) -> web.StreamResponse:
        if request.query.get("fromImage"):
            raise Unsupported(
                "pulling images is not supported by Seaway: import a root filesystem tarball "
                "(docker import) or use the built-in seaway/host image"
            )
        if request.query.get("fromSrc") != "-":
            raise Unsupported("importing from a URL is not supported by Seaway: send the tarball (fromSrc=-)")
        repo = request.query.get("repo", "")
        tag = request.query.get("tag", "")
        reference = f"{repo}:{tag}" if repo and tag else repo
        upload = images.root / f".upload-{secrets.token_hex(8)}"
        try:
            with upload.open("wb") as fh:  # streamed to disk: tarballs can be large
                while chunk := await request.content.read(1 << 20):
                    fh.write(chunk)
            with upload.open("rb") as fh:
                image = await backend.run(images.import_tar, fh, reference, request.query.get("message", ""))
        finally:
            upload.unlink(missing_ok=True)
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write((json.dumps({"status": image.id}) + "\r\n").encode())
        await resp.write_eof()
        return resp

    async def list_images(request: web.Request) -> web.Response:
        filters = f.filters(request, ("reference", "dangling"))
        out = []
        for image in images.list():
            entry = summary(image)
            if "reference" in filters:  # Docker lists only the names that match
                entry["RepoTags"] = [t for t in image.repo_tags if any(_named(t, p) for p in filters["reference"])]
                if not entry["RepoTags"]:
                    continue
            if "dangling" in filters and (not image.repo_tags) != (filters["dangling"][0].lower() in ("true", "1")):
                continue
            out.append(entry)
        return json_response(out)

    async def inspect(request: web.Request) -> web.Response:
        return json_response(inspect_json(images.get(request.match_info["name"])))

    async def delete(request: web.Request) -> web.Response:
        reference = request.match_info["name"]
        image = images.get(reference)
        users = [(c.id, c.running) for c in backend.containers.list() if c.image_id == image.id]
        answer = await backend.run(images.remove, reference, users, f.query_bool(request, "force"))
        return json_response(answer)

    async def tag(request: web.Request) -> web.Response:
        target = parse_tag_target(request.query.get("repo", ""), request.query.get("tag", ""))
        await backend.run(images.tag, request.match_info["name"], target)
        return web.Response(status=201)

    async def commit(request: web.Request) -> web.Response:
        ctr = backend.containers.get(request.query.get("container", ""))
        repo = request.query.get("repo", "")
        target = parse_tag_target(repo, request.query.get("tag", "")) if repo else ""
        config = await json_body(request)
        cmd = list(f.str_list(config, "Cmd")) if f.given(config, "Cmd") else None
        env = list(f.str_list(config, "Env")) if f.given(config, "Env") else None
        comment = request.query.get("comment", "")
        image = await backend.run(backend.containers.fs.commit, ctr.id, target, comment, cmd, env)
        return json_response({"Id": image.id}, status=201)

    add("POST", "/commit", commit)
    add("POST", "/images/create", create)
    add("GET", "/images/json", list_images)
    add("GET", "/images/{name:.+}/json", inspect)
    add("POST", "/images/{name:.+}/tag", tag)
    add("DELETE", "/images/{name:.+}", delete)
