"""Exit 0 when a PostgreSQL server answers at the given URL (used by `make test`)."""

import asyncio
import sys

import asyncpg


async def _check(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(_check(sys.argv[1])) else 1)
