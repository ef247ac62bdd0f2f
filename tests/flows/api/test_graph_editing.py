"""Every story-graph mutation over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from tests.support.builders import (
    ADD_GRAPH,
    add_graph,
    add_node,
    connect,
    default_door,
    get_graph,
    graph_input,
)
from tests.support.graphql import GraphQLClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_add_graph_creates_start_node_with_default_doors(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique, startText="Hallo")
    assert graph["startText"] == "Hallo"
    assert graph["aboutText"] == "" and graph["publicVisible"] is False
    [start] = graph["nodes"]
    assert start["name"] == "Start" and start["isEntryNode"] is True
    assert [door["code"] for door in start["inNodeDoors"]] == ["True"]
    assert [door["isDefault"] for door in start["outNodeDoors"]] == [True]


async def test_duplicate_graph_name_or_slug_is_a_conflict_and_writes_nothing(
    staff: GraphQLClient, unique: str
):
    await add_graph(staff, unique)
    for clash in ({"slugName": f"other-{unique}"}, {"name": f"other-{unique}"}):
        codes = await staff.error_codes(ADD_GRAPH, {"input": graph_input(unique, **clash)})
        assert codes == ["CONFLICT"]
    graphs = await staff.data(
        "query($n: String) { graphs(filters: {name: {contains: $n}}) { name } }", {"n": unique}
    )
    assert [g["name"] for g in graphs["graphs"]] == [f"graph-{unique}"]


async def test_update_graph_changes_only_given_fields(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique, aboutText="about", publicVisible=True)
    data = await staff.data(
        """mutation($g: UUID!, $i: UpdateGraphInput!) { updateGraph(graphUuid: $g, graphInput: $i)
           { displayName aboutText publicVisible streamAssignmentPolicy } }""",
        {
            "g": graph["uuid"],
            "i": {
                "displayName": "",
                "publicVisible": False,
                "streamAssignmentPolicy": "ONE_GRAPH_ONE_STREAM",
                "templateName": "DEFAULT",
            },
        },
    )
    assert data["updateGraph"] == {
        "displayName": "",
        "aboutText": "about",
        "publicVisible": False,
        "streamAssignmentPolicy": "ONE_GRAPH_ONE_STREAM",
    }


async def test_add_node_gets_default_doors_and_update_treats_zero_as_a_value(
    staff: GraphQLClient, unique: str
):
    graph = await add_graph(staff, unique)
    node = await add_node(staff, graph["uuid"], "scene", positionX=10.5, positionY=3, color="#f00")
    assert node["positionX"] == 10.5 and node["color"] == "#f00"
    assert len(node["inNodeDoors"]) == 1 and len(node["outNodeDoors"]) == 1
    await staff.data(
        "mutation($u: NodeUpdate!) { updateNode(nodeUpdate: $u) }",
        {"u": {"uuid": node["uuid"], "positionX": 0, "name": ""}},
    )
    updated = next(
        n for n in (await get_graph(staff, graph["uuid"]))["nodes"] if n["uuid"] == node["uuid"]
    )
    assert updated["positionX"] == 0 and updated["name"] == ""
    assert updated["positionY"] == 3 and updated["color"] == "#f00"


async def test_entry_node_cannot_be_deleted_and_other_nodes_take_their_edges(
    staff: GraphQLClient, unique: str
):
    graph = await add_graph(staff, unique)
    start = graph["nodes"][0]
    codes = await staff.error_codes(
        "mutation($n: UUID!) { deleteNode(nodeUuid: $n) }", {"n": start["uuid"]}
    )
    assert codes == ["BAD_USER_INPUT"]
    node = await add_node(staff, graph["uuid"], "next")
    await connect(staff, default_door(start, "out"), default_door(node, "in"))
    await staff.data("mutation($n: UUID!) { deleteNode(nodeUuid: $n) }", {"n": node["uuid"]})
    after = await get_graph(staff, graph["uuid"])
    assert [n["name"] for n in after["nodes"]] == ["Start"]
    assert after["edges"] == []


async def test_edges_flow_from_output_to_input_and_are_unique(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique)
    start = graph["nodes"][0]
    node = await add_node(staff, graph["uuid"], "b")
    out_door, in_door = default_door(start, "out"), default_door(node, "in")
    edge = await connect(staff, out_door, in_door)
    duplicate = {"e": {"nodeDoorOutUuid": out_door, "nodeDoorInUuid": in_door}}
    mutation = "mutation($e: EdgeInput!) { addEdge(newEdge: $e) { uuid } }"
    assert await staff.error_codes(mutation, duplicate) == ["CONFLICT"]
    wrong_way = {"e": {"nodeDoorOutUuid": in_door, "nodeDoorInUuid": out_door}}
    assert await staff.error_codes(mutation, wrong_way) == ["BAD_USER_INPUT"]
    unknown = {"e": {"nodeDoorOutUuid": str(uuid.uuid4()), "nodeDoorInUuid": in_door}}
    assert await staff.error_codes(mutation, unknown) == ["NOT_FOUND"]
    after = await get_graph(staff, graph["uuid"])
    assert [e["uuid"] for e in after["edges"]] == [edge["uuid"]]
    delete = "mutation($e: UUID!) { deleteEdge(edgeUuid: $e) }"
    await staff.data(delete, {"e": edge["uuid"]})
    await staff.data(delete, {"e": str(uuid.uuid4())})  # unknown: not an error
    assert (await get_graph(staff, graph["uuid"]))["edges"] == []


CREATE_CELLS = """mutation($n: UUID!, $c: [ScriptCellInputCreate!]!) {
  createScriptCells(nodeUuid: $n, scriptCellInputs: $c) { uuid cellOrder cellType cellCode } }"""


async def test_script_cells_append_in_order_and_update_partially(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique)
    node_uuid = graph["nodes"][0]["uuid"]
    first = await staff.data(
        CREATE_CELLS,
        {
            "n": node_uuid,
            "c": [
                {"cellType": "COMMENT", "cellCode": "a"},
                {"cellType": "SUPERCOLLIDER", "cellCode": "b"},
            ],
        },
    )
    second = await staff.data(
        CREATE_CELLS, {"n": node_uuid, "c": [{"cellType": "MARKDOWN", "cellCode": "c"}]}
    )
    orders = [c["cellOrder"] for c in first["createScriptCells"] + second["createScriptCells"]]
    assert orders == sorted(orders) and len(set(orders)) == 3
    cell = first["createScriptCells"][0]
    await staff.data(
        "mutation($c: [ScriptCellInputUpdate!]!) "
        "{ updateScriptCells(scriptCellInputs: $c) { uuid } }",
        {"c": [{"uuid": cell["uuid"], "cellCode": ""}]},
    )
    cells = (await get_graph(staff, graph["uuid"]))["nodes"][0]["scriptCells"]
    assert [c["cellCode"] for c in cells] == ["", "b", "c"]
    assert cells[0]["cellType"] == "COMMENT"
    await staff.data(
        "mutation($c: UUID!) { deleteScriptCell(scriptCellUuid: $c) }", {"c": cell["uuid"]}
    )
    cells = (await get_graph(staff, graph["uuid"]))["nodes"][0]["scriptCells"]
    assert [c["cellCode"] for c in cells] == ["b", "c"]


async def test_audio_cell_needs_audio_info_and_nothing_is_half_written(
    staff: GraphQLClient, unique: str
):
    graph = await add_graph(staff, unique)
    node_uuid = graph["nodes"][0]["uuid"]
    cells = [
        {"cellType": "COMMENT", "cellCode": "fine"},
        {"cellType": "AUDIO", "cellCode": ""},
    ]
    assert await staff.error_codes(CREATE_CELLS, {"n": node_uuid, "c": cells}) == ["BAD_USER_INPUT"]
    assert (await get_graph(staff, graph["uuid"]))["nodes"][0]["scriptCells"] == []


@pytest.mark.parametrize(
    "markdown",
    [
        "Hello {python}`__import__('os')`",
        "Hello {python_exec}`import os`",
        "Hello {python}`vars[ == 2`",
    ],
)
async def test_markdown_code_tokens_are_checked_when_the_cell_is_saved(
    staff: GraphQLClient, unique: str, markdown: str
):
    graph = await add_graph(staff, unique)
    node_uuid = graph["nodes"][0]["uuid"]
    bad = [{"cellType": "MARKDOWN", "cellCode": markdown}]
    assert await staff.error_codes(CREATE_CELLS, {"n": node_uuid, "c": bad}) == ["BAD_USER_INPUT"]
    assert (await get_graph(staff, graph["uuid"]))["nodes"][0]["scriptCells"] == []
    good = [{"cellType": "MARKDOWN", "cellCode": "Hi {python}`vars.get('a', 1) + 1`"}]
    (cell,) = (await staff.data(CREATE_CELLS, {"n": node_uuid, "c": good}))["createScriptCells"]
    update = (
        "mutation($c: [ScriptCellInputUpdate!]!) "
        "{ updateScriptCells(scriptCellInputs: $c) { uuid } }"
    )
    changed = {"c": [{"uuid": cell["uuid"], "cellCode": markdown}]}
    assert await staff.error_codes(update, changed) == ["BAD_USER_INPUT"]


DOOR_FIELDS = "uuid name order code isDefault doorType"


async def test_node_doors_create_update_delete(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique)
    node = graph["nodes"][0]
    created = await staff.data(
        f"""mutation($n: UUID!, $d: NodeDoorInputCreate!) {{
            createNodeDoor(nodeUuid: $n, nodeDoorInput: $d) {{ {DOOR_FIELDS} }} }}""",
        {
            "n": node["uuid"],
            "d": {"doorType": "OUTPUT", "name": "yes", "order": 0, "code": "vars.get('a') == '1'"},
        },
    )
    door = created["createNodeDoor"]
    assert door["isDefault"] is False and door["order"] == 0
    update = f"""mutation($d: NodeDoorInputUpdate!) {{ updateNodeDoor(nodeDoorInput: $d) {{
        __typename ... on NodeDoor {{ {DOOR_FIELDS} }}
        ... on InvalidPythonCode {{ errorType errorMessage errorCode }} }} }}"""
    bad = await staff.data(update, {"d": {"uuid": door["uuid"], "code": "vars[ == 2"}})
    report = bad["updateNodeDoor"]
    assert report["__typename"] == "InvalidPythonCode"
    assert "vars[ == 2" in report["errorMessage"] and "^" in report["errorMessage"]
    good = await staff.data(update, {"d": {"uuid": door["uuid"], "name": "", "order": 0}})
    assert good["updateNodeDoor"]["name"] == ""
    assert good["updateNodeDoor"]["code"] == "vars.get('a') == '1'"
    delete = "mutation($d: UUID!) { deleteNodeDoor(nodeDoorUuid: $d) }"
    default_out = default_door(node, "out")
    assert (await staff.data(delete, {"d": default_out}))["deleteNodeDoor"] is False
    assert (await staff.data(delete, {"d": door["uuid"]}))["deleteNodeDoor"] is True
    doors = (await get_graph(staff, graph["uuid"]))["nodes"][0]["nodeDoors"]
    assert sorted(d["uuid"] for d in doors) == sorted([default_out, default_door(node, "in")])


async def test_doors_are_ordered_non_default_first_then_order_then_name(
    staff: GraphQLClient, unique: str
):
    graph = await add_graph(staff, unique)
    node_uuid = graph["nodes"][0]["uuid"]
    create = """mutation($n: UUID!, $d: NodeDoorInputCreate!) {
        createNodeDoor(nodeUuid: $n, nodeDoorInput: $d) { uuid } }"""
    for name, order in (("b", 2), ("a", 2), ("z", 1)):
        await staff.data(
            create, {"n": node_uuid, "d": {"doorType": "OUTPUT", "name": name, "order": order}}
        )
    doors = (await get_graph(staff, graph["uuid"]))["nodes"][0]["outNodeDoors"]
    assert [d["name"] for d in doors] == ["z", "a", "b", "default"]


@pytest.mark.parametrize(
    "query",
    [
        'query { graph(pk: "not-a-uuid") { uuid } }',
        'mutation { deleteNode(nodeUuid: "nope") }',
    ],
)
async def test_invalid_uuids_are_bad_user_input(staff: GraphQLClient, query: str):
    assert await staff.error_codes(query) == ["BAD_USER_INPUT"]


async def test_unknown_ids_are_not_found(staff: GraphQLClient):
    missing = str(uuid.uuid4())
    for query in (
        "query($p: ID!) { graph(pk: $p) { uuid } }",
        "query($p: ID!) { node(pk: $p) { uuid } }",
        "query($p: ID!) { audioFile(pk: $p) { uuid } }",
        "query($p: ID!) { streamPoint(pk: $p) { uuid } }",
        "query($p: ID!) { streamVariable(pk: $p) { uuid } }",
    ):
        assert await staff.error_codes(query, {"p": missing}) == ["NOT_FOUND"], query


async def test_anonymous_graph_list_hides_private_graphs_except_by_exact_slug(
    staff: GraphQLClient, anonymous: GraphQLClient, unique: str
):
    await add_graph(staff, f"pub-{unique}", publicVisible=True)
    await add_graph(staff, f"priv-{unique}")
    query = "query($f: GraphFilter) { graphs(filters: $f) { slugName } }"
    listed = await anonymous.data(query, {"f": {"name": {"contains": unique}}})
    assert [g["slugName"] for g in listed["graphs"]] == [f"graph-pub-{unique}"]
    by_slug = await anonymous.data(query, {"f": {"slugName": {"exact": f"graph-priv-{unique}"}}})
    assert [g["slugName"] for g in by_slug["graphs"]] == [f"graph-priv-{unique}"]
    staff_view = await staff.data(query, {"f": {"name": {"contains": unique}}})
    assert len(staff_view["graphs"]) == 2


async def test_update_graph_refuses_an_empty_name(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique)
    codes = await staff.error_codes(
        """mutation($g: UUID!, $i: UpdateGraphInput!) {
           updateGraph(graphUuid: $g, graphInput: $i) { name } }""",
        {
            "g": graph["uuid"],
            "i": {"name": " ", "streamAssignmentPolicy": "DEACTIVATE", "templateName": "DEFAULT"},
        },
    )
    assert codes == ["BAD_USER_INPUT"]


async def test_regular_expression_lookups_need_staff(
    staff: GraphQLClient, anonymous: GraphQLClient, unique: str
):
    await add_graph(staff, unique, publicVisible=True)
    query = "query($f: GraphFilter) { graphs(filters: $f) { name } }"
    nested = {"f": {"name": {"contains": unique}, "OR": {"name": {"iRegex": "(a+)+$"}}}}
    assert await anonymous.error_codes(query, nested) == ["FORBIDDEN"]
    staff_view = await staff.data(query, {"f": {"name": {"regex": f"^graph-{unique}$"}}})
    assert [g["name"] for g in staff_view["graphs"]] == [f"graph-{unique}"]
    too_long = {"f": {"name": {"regex": "a" * 201}}}
    assert await staff.error_codes(query, too_long) == ["BAD_USER_INPUT"]


async def test_an_audio_cell_belongs_to_one_script_cell(
    server, staff: GraphQLClient, unique: str, tmp_path
):
    import wave

    from gencaster.audio import import_audio_file

    path = tmp_path / "short.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\x01\x00" * 8000)
    audio_file = await import_audio_file(path, media=server.services.media)
    graph = await add_graph(staff, unique)
    audio = {
        "playback": "SYNC_PLAYBACK",
        "volume": 0.3,
        "audioFile": {"uuid": str(audio_file.uuid)},
    }
    mutation = """mutation($n: UUID!, $c: [ScriptCellInputCreate!]!) {
        createScriptCells(nodeUuid: $n, scriptCellInputs: $c) { uuid audioCell { uuid } } }"""
    node = graph["nodes"][0]["uuid"]
    first = await staff.data(
        mutation, {"n": node, "c": [{"cellType": "AUDIO", "cellCode": "", "audioCell": audio}]}
    )
    taken = first["createScriptCells"][0]["audioCell"]["uuid"]
    stolen = {**audio, "uuid": taken}
    codes = await staff.error_codes(
        mutation, {"n": node, "c": [{"cellType": "AUDIO", "cellCode": "", "audioCell": stolen}]}
    )
    assert codes == ["BAD_USER_INPUT"]
