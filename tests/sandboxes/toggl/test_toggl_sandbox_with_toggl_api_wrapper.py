"""A widely used third-party Toggl client, toggl-api-wrapper (PyPI, MIT), drives the sandbox.

It was written against the real API (engineering.toggl.com/docs/api/me, /projects, /time_entries and
/docs/reports/detailed_reports), not against q2c, so when it cannot talk to the sandbox the sandbox is
wrong. It always calls https://api.track.toggl.com; the transport below hands its requests to the
sandbox's loopback port unchanged otherwise, as a hosts-file entry would. It showed the sandbox that
clients send unset flags as null (`is_private: null`) and every report id filter as `[]`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from toggl_api import ProjectBody, ProjectEndpoint, TrackerBody, TrackerEndpoint, UserEndpoint
from toggl_api.reports import DetailedReportEndpoint, PaginationOptions, ReportBody

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.toggl.app import TogglSandbox


class ToLoopback(httpx.HTTPTransport):
    """Sends every request to the sandbox's host and port, path and query as the client built them."""

    def __init__(self, url: str) -> None:
        super().__init__()
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "api.track.toggl.com", request.url
        request.url = request.url.copy_with(scheme="http", host=self.host, port=self.port)
        return super().handle_request(request)


@pytest.fixture
def http(server: SandboxServer) -> httpx.Client:
    return httpx.Client(transport=ToLoopback(server.url))


def test_the_wrapper_authenticates_tracks_and_pages_the_detailed_report(sandbox: TogglSandbox,
                                                                        http: httpx.Client) -> None:
    auth = httpx.BasicAuth(sandbox.token, "api_token")
    wid = sandbox.workspace_id
    assert UserEndpoint(auth, client=http, re_raise=True).get_details()["email"] == "owner@sandbox-consulting.example"

    project = ProjectEndpoint(wid, auth, client=http, re_raise=True).add(ProjectBody(name="P-WRAP1: Wrapper"))
    assert project.id > 0 and project.name == "P-WRAP1: Wrapper"

    trackers = TrackerEndpoint(wid, auth, client=http, re_raise=True)
    starts = [datetime(2026, 3, day, 9, 0, tzinfo=UTC) for day in (2, 3, 4)]
    made = [trackers.add(TrackerBody(description=f"design {n}", project_id=project.id, start=start,
                                     duration=timedelta(hours=1, minutes=30)))
            for n, start in enumerate(starts)]
    assert [t.duration for t in made] == [timedelta(hours=1, minutes=30)] * 3
    assert made[0].stop == starts[0] + timedelta(hours=1, minutes=30)

    running = trackers.add(TrackerBody(description="running", project_id=project.id,
                                       start=datetime(2026, 3, 4, 11, 0, tzinfo=UTC)))
    assert running.running()
    stopped = trackers.stop(running)
    assert stopped is not None and not stopped.running()
    renamed = trackers.edit(made[0], TrackerBody(description="design renamed"))
    assert renamed.name == "design renamed"

    report = DetailedReportEndpoint(wid, auth, client=http, re_raise=True)
    body = ReportBody(start_date=date(2026, 3, 1), end_date=date(2026, 3, 7), order_dir="ASC")
    page = report.search_time_entries(body, PaginationOptions(page_size=2))
    seen = [e["id"] for row in page.result for e in row["time_entries"]]
    while page.next_row:
        page = report.search_time_entries(body, page.next_options(page_size=2))
        seen += [e["id"] for row in page.result for e in row["time_entries"]]
    assert sorted(seen) == sorted([t.id for t in made] + [running.id])

    trackers.delete(made[1])
    page = report.search_time_entries(body, PaginationOptions(page_size=50))
    assert made[1].id not in [e["id"] for row in page.result for e in row["time_entries"]]
