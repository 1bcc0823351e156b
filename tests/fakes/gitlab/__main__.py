"""python -m tests.fakes.gitlab: a fake GitLab for trying the hub by hand (serves until Ctrl-C)."""

from tests.fakes.gitlab.standalone import main

if __name__ == "__main__":
    main()
