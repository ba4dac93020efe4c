"""``make serve``: start the whole service locally and print how to call it."""

from __future__ import annotations

from medialayer.local.runtime import LocalRuntime


def main() -> None:
    runtime = LocalRuntime()
    creds = runtime.start(serve_http=False)
    print(
        "\nMediaLayer is starting on " + runtime.base_url + "\n"
        f"  API key:      {creds.api_key}\n"
        f"  project:      {creds.project_id}\n"
        f"  credentials:  {runtime.credentials_path}\n"
        f"  AWS endpoint: {runtime.aws.url if runtime.aws else 'external'}\n",
        flush=True,
    )
    try:
        runtime.serve_forever()
    finally:
        runtime.stop()


if __name__ == "__main__":
    main()
