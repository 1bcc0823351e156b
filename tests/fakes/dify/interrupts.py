"""What ends a handler's work early: the client hung up, or the run was asked to stop."""


class ClientGone(Exception):
    pass


class StopRequested(Exception):
    pass
