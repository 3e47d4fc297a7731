"""Reading order of AuthorIT blocks: a topic's paragraphs and tables as the parsers walk them.

Source: TGA-FORMAT.md §2 (tables of elements and criteria, "label | content" rows, header rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec

from skillstream_tga_ingest.parser.authorit import Block, Paragraph


def flatten(blocks: Iterable[Block]) -> list[Paragraph]:
    """The paragraphs of ``blocks`` in reading order, tables read row by row; a header row (``tr/@header``)
    of column headings only ("ELEMENT | PERFORMANCE CRITERIA", "RANGE STATEMENT") is skipped.

    A row whose filled cells each hold one paragraph becomes one paragraph, cells joined with ``" | "``
    (a data row), unless its first cell is a heading; otherwise its paragraphs follow one another, the first
    cell's marked ``heading`` when other cells are filled (a "label | content" row, as the CPC08 Evidence Guide
    uses). A cell spanning rows appears once, in the row where it starts.
    """
    out: list[Paragraph] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            out.append(block)
            continue
        for row in block.rows:
            filled = [cell.paragraphs for cell in row.cells if cell.paragraphs]
            if row.header and all(p.heading for paragraphs in filled for p in paragraphs):
                continue
            if len(filled) < 2:
                out.extend(p for paragraphs in filled for p in paragraphs)
            elif all(len(ps) == 1 for ps in filled) and not filled[0][0].heading:
                first = filled[0][0]
                out.append(Paragraph(" | ".join(ps[0].text for ps in filled), first.style))
            else:
                out.extend(p if p.heading else msgspec.structs.replace(p, heading=True) for p in filled[0])
                out.extend(p for paragraphs in filled[1:] for p in paragraphs)
    return out


def all_paragraphs(blocks: Iterable[Block]) -> Iterator[Paragraph]:
    """Every paragraph of ``blocks`` in document order, cells included, nothing joined or skipped."""
    for block in blocks:
        if isinstance(block, Paragraph):
            yield block
        else:
            for row in block.rows:
                for cell in row.cells:
                    yield from cell.paragraphs


__all__ = ["all_paragraphs", "flatten"]
