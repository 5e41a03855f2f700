"""ABHILEKH_ES_SHARDS / ABHILEKH_ES_REPLICAS shape every index Elasticsearch gets from
us, and ABHILEKH_ES_URL may name several nodes. (Replicas on a real second node:
tests/test_cluster.py.)"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from abhilekh.records import BundleMetadata, SearchDocument
from abhilekh.settings import Settings
from search.base import SearchError
from tests.conftest import make_settings


def _shape(index) -> dict:
    concrete = next(iter(index.client.indices.get_alias(name=index.alias)))
    body = index.client.indices.get_settings(index=concrete)[concrete]["settings"]["index"]
    health = index.client.cluster.health(index=concrete, wait_for_status="yellow", timeout="30s")
    return {
        "shards": body["number_of_shards"],
        "replicas": body["number_of_replicas"],
        "auto": body.get("auto_expand_replicas"),
        "status": health["status"],
        "name": concrete,
    }


def _page(n: int) -> SearchDocument:
    return SearchDocument("shape", n, f"रमेश कुमार पृष्ठ {n}", BundleMetadata(thana="Tirwa"))


@pytest.mark.servers
def test_defaults_one_shard_and_a_replica_only_where_a_second_node_exists(tmp_path: Path):
    from search.elastic import ElasticIndex

    settings = make_settings(tmp_path / "home", index="elastic")
    assert (settings.es_shards, settings.es_replicas) == (1, "0-1")
    index = ElasticIndex.from_settings(settings)
    try:
        index.index([_page(1)])
        shape = _shape(index)
        nodes = index.client.cluster.health()["number_of_nodes"]
        assert (shape["shards"], shape["auto"]) == ("1", "0-1")
        # auto-expanded to the nodes there are: none on one node (so green, not a
        # yellow index waiting forever for a replica), one as soon as there are two
        assert shape["replicas"] == str(min(1, nodes - 1))
        assert shape["status"] == "green"
    finally:
        index.drop()
        index.close()


@pytest.mark.servers
def test_settings_from_the_environment_shape_new_and_rebuilt_indices(tmp_path: Path, monkeypatch):
    from search.elastic import ElasticIndex

    base = make_settings(tmp_path / "home", index="elastic")
    monkeypatch.setenv("ABHILEKH_ES_SHARDS", "3")
    monkeypatch.setenv("ABHILEKH_ES_REPLICAS", "0")
    settings = Settings(home=base.home, es_url=base.es_url, es_index=base.es_index)
    assert (settings.es_shards, settings.es_replicas) == (3, "0")
    index = ElasticIndex.from_settings(settings)
    try:
        index.index([_page(1), _page(2)])
        first = _shape(index)
        assert (first["shards"], first["replicas"], first["auto"]) == ("3", "0", None)
        assert index.rebuild([_page(1), _page(2), _page(3)]) == 3
        rebuilt = _shape(index)
        assert rebuilt["name"] != first["name"]  # a new versioned index behind the alias ...
        assert (rebuilt["shards"], rebuilt["replicas"]) == ("3", "0")  # ... of the same shape
        assert index.count() == 3
    finally:
        index.drop()
        index.close()


@pytest.mark.parametrize("field,value", [("es_shards", 0), ("es_replicas", "two"), ("es_replicas", "1-"),
                                         ("es_replicas", "-1")])
def test_nonsense_index_shapes_are_refused_by_settings(field, value):
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})


@pytest.mark.parametrize("value", ["0", "2", "0-1", "1-all"])
def test_replica_forms_elasticsearch_understands(value):
    assert Settings(es_replicas=value).es_replicas == value


def test_es_url_may_list_several_nodes_and_says_which_when_none_answers():
    from search.elastic import ElasticIndex

    # two loopback ports nothing listens on (1 and 2 need root to bind)
    index = ElasticIndex(" http://127.0.0.1:1/ ,http://127.0.0.1:2", "shape-test")
    try:
        assert len(index.client.transport.node_pool.all()) == 2
        assert index.url == "http://127.0.0.1:1,http://127.0.0.1:2"
        with pytest.raises(SearchError, match=r"cannot reach Elasticsearch at http://127\.0\.0\.1:1,http://127\.0\.0\.1:2"):
            index.count()
    finally:
        index.close()
    with pytest.raises(SearchError, match="ABHILEKH_ES_URL is empty"):
        ElasticIndex(" , ", "shape-test")


@pytest.mark.servers
def test_two_first_writers_at_once_share_one_index(tmp_path: Path):
    """Two machines ingesting into a new alias at the same moment: before the first
    index had a fixed name each created its own behind the alias, and every write after
    failed with "no write index is defined for alias" (seen in test_crash's two-machine
    case under load; this barrier makes it happen every time)."""
    from search.elastic import ElasticIndex

    settings = make_settings(tmp_path / "home", index="elastic")
    writers = [ElasticIndex.from_settings(settings) for _ in range(3)]
    barrier = threading.Barrier(len(writers))
    errors: list[Exception] = []

    def write(n: int) -> None:
        barrier.wait()
        try:
            writers[n].index([_page(n + 1)])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(len(writers))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(writers[0].client.indices.get_alias(name=settings.es_index)) == 1
        writers[0].client.indices.refresh(index=settings.es_index)
        assert writers[0].count() == len(writers)
    finally:
        writers[0].drop()
        for w in writers:
            w.close()
