"""Copies of the CSV sample CRM of a test module, to break one file of."""

import shutil

import churnkit as ck


def copy_crm(config, dest):
    """Copy ``config``'s data folder and config file into ``dest``; return the copy's config."""
    data = config.resolve(config.data.customers.path).parent
    shutil.copytree(data, dest / "data")
    (dest / "config.yaml").write_text((data.parent / "config.yaml").read_text())
    return ck.load_config(dest / "config.yaml")


def add_fields(path, line):
    """Give one line of a CSV file two fields too many (an unquoted number with a comma)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line] = lines[line].rstrip("\r\n") + ",1,234.5\n"
    path.write_text("".join(lines), encoding="utf-8")
