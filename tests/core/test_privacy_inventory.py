"""docs/PRIVACY.md classifies every column of every table: a table or column the inventory does not
name (a model gained one) fails, and so does one it names that no longer exists."""
import re
from pathlib import Path

from gridapp.extensions import db

INVENTORY = Path(__file__).resolve().parents[2] / "docs" / "PRIVACY.md"
CATEGORIES = {"identity", "contact", "location", "health", "free text", "activity", "network", "secret"}
PERSONAL = re.compile(r"^(\w+) \(([a-z ]+)\)$")


def _inventory() -> dict[str, dict[str, str | None]]:
    """{table: {column: category, or None for a column that is not personal}} from the Columns table."""
    out, section = {}, None
    for line in INVENTORY.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif section == "Columns" and line.startswith("| ") and not line.startswith("| table"):
            table, personal, other = [cell.strip() for cell in line.strip().strip("|").split("|")]
            columns: dict[str, str | None] = {}
            for item in filter(None, (p.strip() for p in personal.split(","))):
                match = PERSONAL.match(item)
                assert match, f"{table}: write a personal column as 'name (category)': {item!r}"
                columns[match.group(1)] = match.group(2)
            for item in filter(None, (o.strip() for o in other.split(","))):
                assert item not in columns, f"{table}.{item} is classified twice"
                columns[item] = None
            assert table not in out, f"{table} is listed twice"
            out[table] = columns
    return out


def test_the_inventory_is_read():
    inventory = _inventory()
    assert len(inventory) >= 40
    assert inventory["households"]["housebound"] == "health" and inventory["users"]["phone"] == "contact"


def test_every_column_is_classified_and_every_category_is_known(app):
    inventory = _inventory()
    tables = {t.name: {c.name for c in t.columns} for t in db.metadata.tables.values()}
    assert sorted(set(tables) - set(inventory)) == [], "tables docs/PRIVACY.md does not classify"
    assert sorted(set(inventory) - set(tables)) == [], "tables docs/PRIVACY.md names that do not exist"
    for name, columns in tables.items():
        listed = set(inventory[name])
        assert sorted(columns - listed) == [], f"columns of {name} that docs/PRIVACY.md does not classify"
        assert sorted(listed - columns) == [], f"columns of {name} in docs/PRIVACY.md that do not exist"
    used = {category for columns in inventory.values() for category in columns.values() if category}
    assert used <= CATEGORIES, sorted(used - CATEGORIES)
