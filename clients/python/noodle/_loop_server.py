"""The thread and event loop a service's server runs on (HTTP or RPC frames)."""
import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Awaitable, Callable, Optional

Connection = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class LoopServer:
    """Runs an asyncio server in a thread of its own, each call's function in a pool of ``workers`` threads.

    Subclasses give ``_connection`` (one connection's reader and writer) and
    ``_listen`` (the coroutine that starts listening, given that handler).
    The constructor returns once the server listens, or raises why it could not.
    """

    def __init__(self, workers: int, thread_name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="noodle-fn")
        self._loop = asyncio.new_event_loop()
        self._server: Optional[asyncio.AbstractServer] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._serve, name=thread_name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def _listen(self, connection: Connection) -> Awaitable[asyncio.AbstractServer]:
        raise NotImplementedError

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(self._listen(self._connection))
        except BaseException as err:  # noqa: BLE001 (handed to the constructor)
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def close(self) -> None:
        """Stop listening, drop the connections, and let running functions finish in the background."""
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._pool.shutdown(wait=False)
