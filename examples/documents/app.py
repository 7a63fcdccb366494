"""The document flow: create documents, run their task and endpoint steps, restart a failed one.

Run: ``python -m examples.documents.app [DATABASE_URL]``. Until the worker exists, this app runs the
background steps itself, through the same calls the worker will make.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

from examples.common import start
from examples.documents.models import Document
from examples.documents.work import generate, publish_payload, read_receipt


def main(database_url: str = "sqlite:///documents.db") -> dict[str, str]:
    """Push three documents through the flow; the last one fails once and is defibrillated."""
    app = start(["document"], database_url)
    outcome: dict[str, str] = {}
    with app.session() as session:
        documents = [Document(title=f"Report {n}") for n in (1, 2, 3)]
        session.add_all(documents)
        session.commit()
        for document in documents:
            document.set_status("processing")
            generate(document)
            document.set_status("generated", payload={"words": len((document.content or "").split())})
            document.set_status("publishing", payload={"request": publish_payload(document)})
            if document.title == "Report 3" and not document.receipt:
                document.set_status("error", exception=ConnectionError("publishing service unreachable"))
                document.defibrillate(actor="example")
                continue
            response = SimpleNamespace(json=lambda d=document: {"receipt": f"R-{d.id:04d}"})
            read_receipt(response, document)
            document.set_status("complete", payload={"receipt": document.receipt})
        for document in documents:
            outcome[document.title] = document.status.state
            print(f"{document.title}: {document.status.state}")
        print("history of Report 3:")
        for change in documents[2].history():
            print(f"  {change.from_state} -> {change.to_state} ({change.transition})"
                  f"{' ' + change.exception_type if change.exception_type else ''}")
    app.engine.dispose()
    return outcome


if __name__ == "__main__":
    main(*sys.argv[1:2])
