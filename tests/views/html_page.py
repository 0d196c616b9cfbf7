"""A small HTML reader for screen tests (standard library only): fields and their
errors, select options, form values, list cells, counts and alert messages."""
import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: "Node | None"):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list["Node"]:
        return [node for node in self.iter()
                if (tag is None or node.tag == tag) and (cls is None or cls in node.classes)
                and all(node.attrs.get(name.rstrip("_")) == value for name, value in attrs.items())]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs) -> "Node | None":
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None

    def ancestor(self, tag: str, cls: str | None = None) -> "Node | None":
        node = self.parent
        while node is not None and not (node.tag == tag and (cls is None or cls in node.classes)):
            node = node.parent
        return node

    @property
    def text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child.text if isinstance(child, Node) else child)
        return " ".join(" ".join(parts).split())


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {name: (value if value is not None else "") for name, value in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(
            Node(tag, {name: (value if value is not None else "") for name, value in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html) -> Node:
    if not isinstance(html, str):
        html = html.get_data(as_text=True)
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def _control(root: Node, field_id: str) -> Node:
    for node in root.iter():
        if node.attrs.get("id") == field_id and node.tag in ("input", "select", "textarea"):
            return node
    raise AssertionError(f"no form field with id {field_id!r}")


def has_field(html, field_id: str) -> bool:
    root = parse(html)
    return any(node.attrs.get("id") == field_id and node.tag in ("input", "select", "textarea")
               for node in root.iter())


def field_errors(html, field_id: str) -> list[str]:
    """The error messages shown in the form group of the field ``field_id``."""
    control = _control(parse(html), field_id)
    group = control.ancestor("div", "form-group")
    assert group is not None, f"field {field_id} is not inside a form group"
    return [li.text for ul in group.find_all("ul", "text-danger") for li in ul.find_all("li")]


def fields_with_errors(html) -> set[str]:
    root = parse(html)
    result = set()
    for group in root.find_all("div", "form-group"):
        if any(ul.find_all("li") for ul in group.find_all("ul", "text-danger")):
            for node in group.iter():
                if node.tag in ("input", "select", "textarea") and node.attrs.get("id"):
                    result.add(node.attrs["id"])
    return result


def options(html, field_id: str) -> list[tuple[str, str]]:
    """(value, text) of each option of a select."""
    control = _control(parse(html), field_id)
    return [(option.attrs.get("value", option.text), option.text) for option in control.find_all("option")]


def field_value(html, field_id: str):
    """The value a browser would submit for the field (None for an unchecked box)."""
    return _value(_control(parse(html), field_id))


def _value(control: Node):
    if control.tag == "select":
        chosen = [o for o in control.find_all("option") if "selected" in o.attrs]
        first = chosen or control.find_all("option")
        return first[0].attrs.get("value", first[0].text) if first else ""
    if control.tag == "textarea":
        return "".join(child for child in control.children if isinstance(child, str)).lstrip("\r\n")
    if control.attrs.get("type") == "checkbox":
        return control.attrs.get("value", "on") if "checked" in control.attrs else None
    return control.attrs.get("value", "")


def form_values(html, form_id: str | None = None) -> dict[str, str]:
    """What submitting the form (by id, else the first POST form with fields) would send."""
    root = parse(html)
    if form_id:
        form = root.find("form", id=form_id)
    else:
        form = next(f for f in root.find_all("form") if f.attrs.get("method", "").lower() == "post"
                    and f.find_all("select") + f.find_all("textarea") + f.find_all("input", type="text"))
    assert form is not None, f"no form {form_id}"
    data = {}
    for control in form.iter():
        if control.tag not in ("input", "select", "textarea") or not control.attrs.get("name"):
            continue
        if control.attrs.get("type") in ("submit", "button", "file"):
            continue
        value = _value(control)
        if value is not None:
            data[control.attrs["name"]] = value
    return data


def list_cells(html, column: str) -> list[str]:
    """Texts of one column of a Flask-Admin list (``td.col-<column>``)."""
    table = parse(html).find("table", "model-list")
    if table is None:
        return []
    return [cell.text for cell in table.find_all("td", f"col-{column}")]


def list_count(html) -> int:
    """The row count shown on the list tab: ``List (N)``."""
    tabs = parse(html).find("ul", "nav-tabs")
    tab = tabs.find("a", "active") if tabs else None
    match = re.search(r"\((\d+)\)", tab.text if tab else "")
    assert match, "no count on the list tab"
    return int(match.group(1))


def alerts(html) -> list[str]:
    return [node.text for node in parse(html).find_all("div", "alert")]


def hrefs(html) -> list[str]:
    return [node.attrs.get("href", "") for node in parse(html).find_all("a")]


def form_actions(html) -> list[str]:
    return [node.attrs.get("action", "") for node in parse(html).find_all("form")]


def nav_links(html) -> list[str]:
    """Links of the navigation menu."""
    nav = parse(html).find("nav")
    return [node.attrs.get("href", "") for node in nav.find_all("a")] if nav else []
