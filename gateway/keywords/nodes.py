"""A composed YAML tree read with line numbers: mappings, texts, languages and word lists checked for shape,
each refusal or warning placed at its node's line and entry."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gateway.keywords.problems import Finding, Problem

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")

Fields = dict[str, tuple[ScalarNode, Node]]  # field name -> (name node, value node)


def line_of(node: Node | None) -> int | None:
    """The 1-based line `node` starts on, or None."""
    return node.start_mark.line + 1 if node is not None and node.start_mark is not None else None


class NodeReader:
    """Walks the composed YAML, collecting every refusal and warning with its line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def refuse(self, node: Node | None, entry: str, code: str, **args: Any) -> None:
        """Refuse the file at `node`'s line; `code` is one of problems.REFUSALS."""
        self.report(node, entry, [Finding(code, args)], refused=True)

    def warn(self, node: Node | None, entry: str, code: str, **args: Any) -> None:
        """Warn at `node`'s line; `code` is one of problems.WARNINGS."""
        self.report(node, entry, [Finding(code, args)], refused=False)

    def report(self, node: Node | None, entry: str, findings: Iterable[Finding], refused: bool | None = None) -> None:
        """Place findings at `node`'s line, each a refusal or a warning as its code says."""
        for code, args in findings:
            problem = Problem(self.source, line_of(node), entry, code, args)
            if refused is not None and problem.refused != refused:
                raise ValueError(f"{code!r} is a {'refusal' if problem.refused else 'warning'}")
            (self.problems if problem.refused else self.warnings).append(problem)

    # --- shapes -------------------------------------------------------------------------------------------

    def mapping(
        self, node: Node, entry: str, required: Iterable[str] = (), optional: Iterable[str] = (), *,
        any_keys: bool = False, key: Node | None = None,
    ) -> Fields | None:
        """Fields of a mapping node by name; unknown, duplicate and missing (reported at `key`) refused."""
        if not isinstance(node, MappingNode):
            self.refuse(node, entry, "not_a_mapping")
            return None
        required, optional = list(required), list(optional)
        allowed = required + optional
        fields: Fields = {}
        for name_node, value in node.value:
            if not isinstance(name_node, ScalarNode) or not name_node.value.strip():
                self.refuse(name_node, entry, "bad_field_name")
                continue
            name = name_node.value.strip()
            where = f"{entry}.{name}" if entry else name
            if name in fields:
                self.refuse(name_node, where, "duplicate_field", field=name, line=line_of(fields[name][0]))
            elif not any_keys and name not in allowed:
                self.refuse(name_node, where, "unknown_field", field=name, expected=tuple(allowed))
            else:
                fields[name] = (name_node, value)
        for name in required:
            if name not in fields:
                self.refuse(key or node, entry, "missing_field", field=name)
        return fields

    def text(self, node: Node, entry: str) -> str | None:
        """A scalar's text, trimmed; empty and non-scalar values refused."""
        if not isinstance(node, ScalarNode):
            self.refuse(node, entry, "not_text")
            return None
        text = node.value.strip()
        if not text:
            self.refuse(node, entry, "empty")
            return None
        return text

    def language(self, node: Node, entry: str) -> str | None:
        """A language code such as en or cy, lowercased."""
        value = self.text(node, entry)
        if value is None:
            return None
        if not _LANGUAGE.match(value.lower()):
            self.refuse(node, entry, "not_a_language", value=value)
            return None
        return value.lower()

    def texts(self, node: Node, entry: str, fallback: str | None) -> tuple[dict[str, str], dict[str, Node]]:
        """TEXT: a string or {language: string}; returns texts and their nodes by language."""
        if isinstance(node, MappingNode):
            fields = self.mapping(node, entry, any_keys=True) or {}
            texts: dict[str, str] = {}
            nodes: dict[str, Node] = {}
            for name, (key, value) in fields.items():
                language = self.language(key, f"{entry}.{name}")
                text = self.text(value, f"{entry}.{name}")
                if language and text:
                    texts[language], nodes[language] = text, value
            if fallback and fields and fallback not in texts:
                self.refuse(node, entry, "no_fallback_text", language=fallback)
            return texts, nodes
        text = self.text(node, entry)
        if text is None or fallback is None:
            return {}, {}
        return {fallback: text}, {fallback: node}

    def word_list(self, node: Node, entry: str) -> list[tuple[str, Node, str]]:
        """A list of words: (word, node, entry) for each."""
        if not isinstance(node, SequenceNode):
            self.refuse(node, entry, "not_a_list")
            return []
        words = []
        for index, item in enumerate(node.value):
            word = self.text(item, f"{entry}[{index}]")
            if word is not None:
                words.append((word, item, f"{entry}[{index}]"))
        return words

    def words_by_language(
        self, node: Node, entry: str, fallback: str | None
    ) -> list[tuple[str, str | None, Node, str]]:
        """A list, or {language: list}: (word, language, node, entry) for each word."""
        if isinstance(node, MappingNode):
            out = []
            for name, (key, value) in (self.mapping(node, entry, any_keys=True) or {}).items():
                language = self.language(key, f"{entry}.{name}")
                if language is not None:
                    out += [(w, language, n, at) for w, n, at in self.word_list(value, f"{entry}.{name}")]
            return out
        return [(w, fallback, n, at) for w, n, at in self.word_list(node, entry)]
