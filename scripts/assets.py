"""The release's files whose bytes depend only on their inputs and SOURCE_DATE_EPOCH.

    assets.py tar OUT.tar.gz DIR FILE...          the files under a top directory named like DIR
    assets.py zip OUT.zip DIR FILE...             the files at the root (Lambda wants bootstrap there)
    assets.py template IN.yaml ZIP ARCH OUT.yaml  an infra/ template that deploys the release's zip

Archive entries are written in the order given, with the commit's time, owner root (0:0), and mode
0755 for executables and 0644 for the rest; gzip stores the commit's time and no file name.

A packaged template runs the zip beside it (CodeUri), on that zip's architecture only, and its
Serverless Application Repository metadata points at the README.md and LICENSE beside it, so that
`sam package` + `sam publish` (or `aws cloudformation package`) work from the release's files alone.
"""

import gzip
import io
import os
import re
import sys
import tarfile
import time
import zipfile


def mode_of(path):
    return 0o755 if os.access(path, os.X_OK) else 0o644


def write_tar(out, directory, names, epoch):
    top = os.path.basename(os.path.normpath(directory))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        entries = [(top, None)] + [(f"{top}/{name}", os.path.join(directory, name)) for name in names]
        for arcname, path in entries:
            info = tarfile.TarInfo(arcname)
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if path is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
                continue
            info.mode = mode_of(path)
            info.size = os.path.getsize(path)
            with open(path, "rb") as content:
                archive.addfile(info, content)
    with open(out, "wb") as file, gzip.GzipFile(filename="", mode="wb", fileobj=file, mtime=epoch, compresslevel=9) as packed:
        packed.write(buffer.getvalue())


def write_zip(out, directory, names, epoch):
    # A zip's time has no zone and starts in 1980.
    stamp = time.gmtime(max(epoch, 315532800))[:6]
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            path = os.path.join(directory, name)
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix, so that the mode below is read
            info.external_attr = (0o100000 | mode_of(path)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as content:
                archive.writestr(info, content.read(), compresslevel=9)


# What `template` rewrites: each pattern must match exactly once, so that a changed template
# fails the release instead of shipping a half-packaged copy.
TEMPLATE_LINES = [
    (r"(?m)^      CodeUri: \.\.$", "      CodeUri: {zip}"),
    (r"(?m)^    Default: arm64\n    AllowedValues: \[arm64, x86_64\]$", "    Default: {arch}\n    AllowedValues: [{arch}]"),
    (r"(?m)^    LicenseUrl: \.\./LICENSE$", "    LicenseUrl: LICENSE"),
    (r"(?m)^    ReadmeUrl: \.\./README\.md$", "    ReadmeUrl: README.md"),
]


def write_template(source, zip_name, arch, out):
    with open(source, encoding="utf-8") as file:
        text = file.read()
    for pattern, replacement in TEMPLATE_LINES:
        text, count = re.subn(pattern, replacement.format(zip=zip_name, arch=arch), text)
        if count != 1:
            sys.exit(f"assets.py: expected exactly one match of {pattern!r} in {source}, found {count}")
    with open(out, "w", encoding="utf-8") as file:
        file.write(text)


def main(argv):
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    if len(argv) == 6 and argv[1] == "template":
        write_template(*argv[2:])
        os.utime(argv[5], (epoch, epoch))
        return
    if len(argv) < 5 or argv[1] not in ("tar", "zip"):
        sys.exit("usage: assets.py tar|zip OUT DIR FILE... | assets.py template IN ZIP ARCH OUT")
    kind, out, directory, names = argv[1], argv[2], argv[3], argv[4:]
    (write_tar if kind == "tar" else write_zip)(out, directory, names, epoch)
    os.utime(out, (epoch, epoch))


if __name__ == "__main__":
    main(sys.argv)
