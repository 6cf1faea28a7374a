def test_cron_fires_through_the_wrangler_dev_path(telemetry) -> None:
    # wrangler dev fires a Python Worker's scheduled() via /cdn-cgi/local/scheduled.
    response = telemetry.get("/cdn-cgi/local/scheduled", params={"cron": "0 * * * *"})
    assert response.status_code == 200
    assert response.text == "ok"
