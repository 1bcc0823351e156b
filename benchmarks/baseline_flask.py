"""The design dify-hub replaces, rewritten small and faithfully for the ingest benchmark.

From the second seed post: a Flask app takes GitLab merge-request webhooks, starts one thread
per event that calls the Dify workflow in blocking mode, and answers 200 at once. Nothing is
stored, nothing is retried, and the webhook's X-Gitlab-Token is passed on to the workflow as a
GitLab API token (kept here because it is what the seed did; the hub never does this).

    DIFY_URL=http://127.0.0.1:5001/v1 DIFY_KEY=app-bench python benchmarks/baseline_flask.py --port 5050

It is served with Flask's threaded development server, as in the post (behind nginx unit
there, which adds nothing to the thread-per-event behaviour measured here).
"""

from __future__ import annotations

import argparse
import json
import os
import threading

import requests
from flask import Flask, jsonify, request

DIFY_URL = os.environ.get("DIFY_URL", "http://127.0.0.1:5001/v1")
DIFY_KEY = os.environ.get("DIFY_KEY", "app-bench")
GITLAB_URL = os.environ.get("GITLAB_URL", "https://gitlab.example.com")

app = Flask(__name__)


def run_workflow(inputs: dict, response_mode: str, user: str):
    response = requests.post(
        f"{DIFY_URL}/workflows/run",
        headers={"Authorization": f"Bearer {DIFY_KEY}", "Content-Type": "application/json"},
        data=json.dumps({"inputs": inputs, "response_mode": response_mode, "user": user}),
    )
    if response.status_code == 200 and response_mode == "blocking":
        return response.json().get("data", {}).get("outputs")
    print(f"Request failed with status code {response.status_code}")
    return None


def process_webhook(data: dict) -> None:
    run_workflow(data, "blocking", "seed-user")


@app.route("/gitlab-webhook", methods=["POST"])
def gitlab_webhook():
    data = request.json
    gitlab_token = request.headers.get("X-Gitlab-Token")
    if (
        data.get("object_kind") == "merge_request"
        and data.get("object_attributes").get("state") == "opened"
    ):
        try:
            inputs = {
                "query": f"review MR of project {data['project']['id']}",
                "PrivateToken": gitlab_token,
                "prjid": str(data["project"]["id"]),
                "siteurl": GITLAB_URL,
                "branch": "master",
                "state": "opened",
            }
            threading.Thread(target=process_webhook, args=(inputs,)).start()
            return jsonify({"status": "OK"}), 200
        except Exception:
            return jsonify({"status": "Error in Dify Server"}), 500
    return jsonify({"status": "ignored"}), 200


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args()
    app.run(host="127.0.0.1", port=args.port, threaded=True)
