"""Run by Taguette's own Python: a Taguette store with accounts, one project, its documents and tags.

Reads a JSON request on stdin ``{"database", "password", "users", "documents":
[{"name", "text"}], "tags": [{"path", "description"}]}`` and prints the ids made
as JSON ``{"project", "documents": {name: id}, "tags": {path: id}}``. Users are
project members who may tag; ``admin`` administers the project, as Taguette's
own server makes it. Documents are stored as Taguette stores converted text:
HTML, one paragraph per line, the text escaped.
"""

import asyncio
import html
import json
import sys

from taguette import database


async def setup(request: dict) -> dict:
    db = database.connect(request["database"])()
    people = []
    for login in ["admin", *request["users"]]:
        user = database.User(login=login)
        await user.set_password(request["password"], method="pbkdf2")
        db.add(user)
        people.append(user)
    project = database.Project(name="Chorus benchmark", description="the demo study's transcripts")
    db.add(project)
    for user in people:
        privileges = database.Privileges.ADMIN if user.login == "admin" else database.Privileges.TAG
        db.add(database.ProjectMember(project=project, user=user, privileges=privileges))
    documents = {}
    for item in request["documents"]:
        contents = "".join(f"<p>{html.escape(line)}</p>" for line in item["text"].split("\n"))
        document = database.Document(
            name=item["name"], description="", filename=item["name"] + ".txt", project=project,
            text_direction=database.TextDirection.LEFT_TO_RIGHT, contents=contents,
        )
        db.add(document)
        documents[item["name"]] = document
    tags = {}
    for item in request["tags"]:
        tag = database.Tag(project=project, path=item["path"], description=item["description"])
        db.add(tag)
        tags[item["path"]] = tag
    db.commit()
    return {
        "project": project.id,
        "documents": {name: d.id for name, d in documents.items()},
        "tags": {path: t.id for path, t in tags.items()},
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(setup(json.load(sys.stdin)))))
