# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install one pinned Helm release into an execution environment image, checksum verified.

Runs inside the image build with the EE's own Python (standard library only), so the image needs
neither curl nor tar. The archive is checked against the ``.sha256sum`` file Helm publishes next to it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import re
import sys
import tarfile
import tempfile
import urllib.request

HELM_DOWNLOAD_URL = "https://get.helm.sh"
MACHINE_TO_HELM_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
VERSION_PATTERN = re.compile(r"^v\d+\.\d+\.\d+$")


class HelmInstallError(Exception):
    """The release could not be downloaded, verified or unpacked."""


def helm_arch(machine: str | None = None) -> str:
    """Helm's name for this machine's CPU architecture."""
    machine = (machine or platform.machine()).lower()
    try:
        return MACHINE_TO_HELM_ARCH[machine]
    except KeyError:
        raise HelmInstallError(f"no Helm release for machine architecture {machine!r}") from None


def _fetch(url: str, timeout_s: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return response.read()


def expected_sha256(checksum_text: str, archive_name: str) -> str:
    """The hex digest for ``archive_name`` in a ``sha256sum``-format file (a bare digest is accepted too)."""
    for line in checksum_text.splitlines():
        fields = line.split()
        if len(fields) == 1 and re.fullmatch(r"[0-9a-f]{64}", fields[0]):
            return fields[0]
        if len(fields) == 2 and fields[1].lstrip("*") == archive_name:
            return fields[0].lower()
    raise HelmInstallError(f"no checksum for {archive_name} in the published checksum file")


def install_helm(version: str, dest: str, base_url: str = HELM_DOWNLOAD_URL, machine: str | None = None,
                 timeout_s: float = 120.0) -> str:
    """Download, verify and install ``helm`` ``version`` at ``dest``; returns the verified sha256."""
    if not VERSION_PATTERN.match(version):
        raise HelmInstallError(f"Helm version must look like v3.17.3, got {version!r}")
    arch = helm_arch(machine)
    archive_name = f"helm-{version}-linux-{arch}.tar.gz"
    archive = _fetch(f"{base_url}/{archive_name}", timeout_s)
    checksum_text = _fetch(f"{base_url}/{archive_name}.sha256sum", timeout_s).decode("utf-8")
    digest = hashlib.sha256(archive).hexdigest()
    wanted = expected_sha256(checksum_text, archive_name)
    if digest != wanted:
        raise HelmInstallError(f"{archive_name}: sha256 {digest} does not match the published {wanted}")
    member_name = f"linux-{arch}/helm"
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as bundle:
        try:
            member = bundle.getmember(member_name)
        except KeyError:
            raise HelmInstallError(f"{archive_name} has no {member_name}") from None
        extracted = bundle.extractfile(member)
        if extracted is None:
            raise HelmInstallError(f"{member_name} in {archive_name} is not a regular file")
        binary = extracted.read()
    dest_dir = os.path.dirname(os.path.abspath(dest))
    os.makedirs(dest_dir, exist_ok=True)
    # Write beside the destination and rename, so a failed build never leaves half a binary on PATH.
    handle, partial = tempfile.mkstemp(dir=dest_dir, prefix=".helm-")
    with os.fdopen(handle, "wb") as out:
        out.write(binary)
    os.chmod(partial, 0o755)
    os.replace(partial, dest)
    return digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", required=True, help="Helm release tag, e.g. v3.17.3")
    parser.add_argument("--dest", default="/usr/local/bin/helm", help="where to install the binary")
    parser.add_argument("--base-url", default=HELM_DOWNLOAD_URL, help="release download site")
    args = parser.parse_args(argv)
    try:
        digest = install_helm(args.version, args.dest, base_url=args.base_url.rstrip("/"))
    except (HelmInstallError, OSError) as error:
        sys.stderr.write(f"install_helm: {error}\n")
        return 1
    sys.stdout.write(f"installed helm {args.version} at {args.dest} (sha256 {digest})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
