"""Load and validate a commune's YAML folder into typed objects, with file:line errors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ticketing.config.schema import (
    FILE_MODELS,
    OPTIONAL_FILE_MODELS,
    CategoriesFile,
    Category,
    Commune,
    CommuneFile,
    DeadlinesFile,
    Mailbox,
    MailboxesFile,
    ReplyTemplate,
    Role,
    RolesFile,
    RoutingFile,
    RoutingRule,
    Service,
    ServicesFile,
    TemplatesFile,
    ValidationFile,
    ValidationRule,
)
from ticketing.domain.calendar import CommuneCalendar, normalise_subdivision
from ticketing.domain.deadlines import calendar_from_rules
from ticketing.domain.templating import template_error

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ConfigInvalid(Exception):
    """The configuration cannot be used; ``problems`` says where and why."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class CommuneConfig:
    """Everything a commune's YAML says, validated and cross-checked."""

    folder: Path
    commune: Commune
    services: dict[str, Service]
    categories: dict[str, Category]
    routing_rules: list[RoutingRule]
    deadlines: DeadlinesFile
    templates: dict[str, ReplyTemplate]
    roles: dict[str, Role]
    calendar: CommuneCalendar = field(compare=False)
    mailboxes: list[Mailbox] = field(default_factory=list)  # from the optional mailboxes.yaml
    # The parapheur, from the optional validation.yaml (first applicable rule wins).
    validation_rules: list[ValidationRule] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.commune.slug

    def templates_for(self, service: str) -> list[ReplyTemplate]:
        return [t for t in self.templates.values() if not t.services or service in t.services]


class _LineMap:
    """Line numbers of every key and item of a YAML document, by path."""

    def __init__(self, node: yaml.Node | None):
        self.lines: dict[Path_, int] = {}
        self.duplicates: list[tuple[Path_, int]] = []
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: Path_) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                if child in self.lines:
                    self.duplicates.append((child, key.start_mark.line + 1))
                self.lines[child] = key.start_mark.line + 1
                self._walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def line_of(self, path: Iterable[str | int]) -> int:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def _read_yaml(file: Path) -> tuple[Any, _LineMap]:
    text = file.read_text(encoding="utf-8")
    try:
        data, lines = yaml.safe_load(text), _LineMap(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigInvalid(
            [ConfigProblem(file, line, f"not valid YAML: {problem} (check indentation and quotes)")]
        ) from exc
    if lines.duplicates:
        # YAML would silently keep the last value: say so instead.
        raise ConfigInvalid([
            ConfigProblem(file, line, f"{_describe(path)}: key written twice; keep only one")
            for path, line in lines.duplicates
        ])
    return data, lines


def _describe(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _hint(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key: check its spelling or remove it"
    if kind == "missing":
        return "required key is missing: add it"
    if kind == "string_pattern_mismatch" and error["loc"][-1] in ("code", "slug", "service"):
        return "codes are lower case letters, digits, '-' or '_', starting with a letter"
    if kind == "string_pattern_mismatch" and error["loc"][-1] == "password_env":
        return "give the NAME of an environment variable (A-Z, 0-9, '_'), never the password"
    return ""


def _validate_file(folder: Path, name: str) -> tuple[Any, _LineMap]:
    file = folder / name
    if not file.exists():
        raise ConfigInvalid([ConfigProblem(file, 1, f"missing file: create {name}")])
    data, lines = _read_yaml(file)
    if not isinstance(data, dict):
        raise ConfigInvalid([ConfigProblem(file, 1, "expected a mapping of keys at the top level")])
    try:
        return {**FILE_MODELS, **OPTIONAL_FILE_MODELS}[name].model_validate(data), lines
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not isinstance(p, str) or p[:1] != "[")
            message = error["msg"].removeprefix("Value error, ")
            hint = _hint(error)
            where = _describe(loc)
            text = f"{where}: {message}" if where else message
            problems.append(
                ConfigProblem(file, lines.line_of(loc), f"{text}; {hint}" if hint else text)
            )
        raise ConfigInvalid(problems) from exc


def load_commune(folder: Path) -> CommuneConfig:
    """Validate every file of ``folder``; raise ConfigInvalid listing all problems found."""
    folder = Path(folder)
    parsed: dict[str, tuple[Any, _LineMap]] = {}
    problems: list[ConfigProblem] = []
    for name in FILE_MODELS:
        try:
            parsed[name] = _validate_file(folder, name)
        except ConfigInvalid as exc:
            problems.extend(exc.problems)
    for name in OPTIONAL_FILE_MODELS:
        if (folder / name).exists():
            try:
                parsed[name] = _validate_file(folder, name)
            except ConfigInvalid as exc:
                problems.extend(exc.problems)
    if problems:
        raise ConfigInvalid(problems)
    problems = _cross_check(folder, parsed)
    if problems:
        raise ConfigInvalid(problems)
    commune: CommuneFile = parsed["commune.yaml"][0]
    services: ServicesFile = parsed["services.yaml"][0]
    categories: CategoriesFile = parsed["categories.yaml"][0]
    deadlines: DeadlinesFile = parsed["deadlines.yaml"][0]
    templates: TemplatesFile = parsed["templates.yaml"][0]
    roles: RolesFile = parsed["roles.yaml"][0]
    routing: RoutingFile = parsed["routing.yaml"][0]
    mailboxes: MailboxesFile = parsed.get("mailboxes.yaml", (MailboxesFile(), None))[0]
    validation: ValidationFile = parsed.get("validation.yaml", (ValidationFile(), None))[0]
    return CommuneConfig(
        folder=folder,
        commune=commune.commune,
        services={s.code: s for s in services.services},
        categories={c.code: c for c in categories.categories},
        routing_rules=list(routing.rules),
        deadlines=deadlines,
        templates={t.code: t for t in templates.templates},
        roles={r.code: r for r in roles.roles},
        calendar=calendar_from_rules(
            normalise_subdivision(commune.commune.holiday_subdivision), deadlines
        ),
        mailboxes=list(mailboxes.mailboxes),
        validation_rules=list(validation.rules),
    )


def _cross_check(folder: Path, parsed: dict[str, tuple[Any, _LineMap]]) -> list[ConfigProblem]:
    """References between files: every service and category named must exist."""
    problems: list[ConfigProblem] = []

    def check(name: str, path: Path_, code: str | None, known: dict | set, what: str) -> None:
        if code is not None and code not in known:
            listing = ", ".join(sorted(known))
            plural = "categories" if what == "category" else f"{what}s"
            problems.append(
                ConfigProblem(
                    folder / name,
                    parsed[name][1].line_of(path),
                    f"{_describe(path)}: unknown {what} {code!r}; known {plural}: {listing}",
                )
            )

    for name, key in (("services.yaml", "services"), ("categories.yaml", "categories"),
                      ("templates.yaml", "templates"), ("roles.yaml", "roles")):
        seen: set[str] = set()
        for i, item in enumerate(getattr(parsed[name][0], key)):
            if item.code in seen:
                problems.append(ConfigProblem(
                    folder / name, parsed[name][1].line_of((key, i, "code")),
                    f"{key}[{i}].code: {item.code!r} is used twice; codes must be unique"))
            seen.add(item.code)
    if "mailboxes.yaml" in parsed:
        seen = set()
        for i, mailbox in enumerate(parsed["mailboxes.yaml"][0].mailboxes):
            if mailbox.name in seen:
                problems.append(ConfigProblem(
                    folder / "mailboxes.yaml",
                    parsed["mailboxes.yaml"][1].line_of(("mailboxes", i, "name")),
                    f"mailboxes[{i}].name: {mailbox.name!r} is used twice; names must be unique"))
            seen.add(mailbox.name)
    if problems:
        return problems  # references cannot be checked against ambiguous codes

    commune: Commune = parsed["commune.yaml"][0].commune
    services = {s.code for s in parsed["services.yaml"][0].services}
    categories = {c.code for c in parsed["categories.yaml"][0].categories}
    if commune.slug != folder.name:
        problems.append(
            ConfigProblem(
                folder / "commune.yaml",
                parsed["commune.yaml"][1].line_of(("commune", "slug")),
                f"commune.slug: {commune.slug!r} differs from the folder name {folder.name!r}; "
                "rename one so they match",
            )
        )
    check("commune.yaml", ("commune", "triage_service"), commune.triage_service, services,
          "service")
    for i, category in enumerate(parsed["categories.yaml"][0].categories):
        check("categories.yaml", ("categories", i, "default_service"),
              category.default_service, services, "service")
    for i, rule in enumerate(parsed["routing.yaml"][0].rules):
        check("routing.yaml", ("rules", i, "service"), rule.service, services, "service")
        for j, code in enumerate(rule.when.categories):
            check("routing.yaml", ("rules", i, "when", "categories", j), code, categories,
                  "category")
    for i, mailbox in enumerate(parsed.get("mailboxes.yaml", (MailboxesFile(),))[0].mailboxes):
        check("mailboxes.yaml", ("mailboxes", i, "service_hint"), mailbox.service_hint, services,
              "service")
    roles = {r.code for r in parsed["roles.yaml"][0].roles}
    deadline_rules = parsed["deadlines.yaml"][0]
    for i, rule in enumerate([*deadline_rules.rules, deadline_rules.default]):
        where: Path_ = ("rules", i) if i < len(deadline_rules.rules) else ("default",)
        for j, code in enumerate(rule.categories):
            check("deadlines.yaml", (*where, "categories", j), code, categories, "category")
        for k, step in enumerate(rule.escalation):
            for j, target in enumerate(step.notify):
                if target.startswith("role:"):
                    check("deadlines.yaml", (*where, "escalation", k, "notify", j),
                          target.removeprefix("role:"), roles, "role")
    problems.extend(_check_validation(folder, parsed, services, categories))
    for i, template in enumerate(parsed["templates.yaml"][0].templates):
        for j, code in enumerate(template.services):
            check("templates.yaml", ("templates", i, "services", j), code, services, "service")
        for part in ("subject", "body"):
            error = template_error(getattr(template, part))
            if error:
                problems.append(
                    ConfigProblem(
                        folder / "templates.yaml",
                        parsed["templates.yaml"][1].line_of(("templates", i, part)),
                        f"templates[{i}].{part}: template error: {error}; variables available: "
                        "citizen, ticket, service, agent, commune, today",
                    )
                )
    return problems


def _check_validation(
    folder: Path, parsed: dict[str, tuple[Any, _LineMap]], services: set[str],
    categories: set[str],
) -> list[ConfigProblem]:
    """validation.yaml names existing services, categories and roles holding "validate"."""
    if "validation.yaml" not in parsed:
        return []
    file, lines = folder / "validation.yaml", parsed["validation.yaml"][1]
    roles = {r.code: r for r in parsed["roles.yaml"][0].roles}
    problems: list[ConfigProblem] = []
    for i, rule in enumerate(parsed["validation.yaml"][0].rules):
        for key, what, known in (("services", "service", services),
                                 ("categories", "category", categories)):
            for j, code in enumerate(getattr(rule.when, key)):
                if code not in known:
                    problems.append(ConfigProblem(
                        file, lines.line_of(("rules", i, "when", key, j)),
                        f"rules[{i}].when.{key}[{j}]: unknown {what} {code!r}; "
                        f"known {key}: {', '.join(sorted(known))}"))
        role = roles.get(rule.role)
        where = lines.line_of(("rules", i, "role"))
        if role is None:
            problems.append(ConfigProblem(
                file, where, f"rules[{i}].role: unknown role {rule.role!r}; known roles: "
                f"{', '.join(sorted(roles))}"))
        elif "validate" not in role.permissions:
            problems.append(ConfigProblem(
                file, where, f"rules[{i}].role: the role {rule.role!r} lacks the 'validate' "
                "permission; add it to the role in roles.yaml or choose another role"))
    return problems


def load_all(config_dir: Path) -> dict[str, CommuneConfig]:
    """Every commune under ``config_dir/communes``; all problems of all communes at once."""
    communes_dir = Path(config_dir) / "communes"
    if not communes_dir.is_dir():
        raise ConfigInvalid(
            [ConfigProblem(communes_dir, 1, "no 'communes' folder: create one per commune")]
        )
    loaded: dict[str, CommuneConfig] = {}
    problems: list[ConfigProblem] = []
    for folder in sorted(p for p in communes_dir.iterdir() if p.is_dir()):
        try:
            config = load_commune(folder)
            loaded[config.slug] = config
        except ConfigInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigInvalid(problems)
    if not loaded:
        raise ConfigInvalid([ConfigProblem(communes_dir, 1, "no commune folder found")])
    return loaded
