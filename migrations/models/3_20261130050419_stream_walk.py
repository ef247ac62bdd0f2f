"""Where each stream's walk stands (``StreamWalk``), so another process can resume it.

One row per stream, fenced by the token of the engine run that owns the walk. Both
dialects are spelled out, as in the initial migration.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

SQLITE_SQL = """
        CREATE TABLE IF NOT EXISTS "stream_walk" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "fence" BIGINT NOT NULL,
    "node_uuid" CHAR(36),
    "cell_index" INT NOT NULL,
    "instruction_uuid" CHAR(36),
    "steps" INT NOT NULL,
    "rng_state" JSON,
    "reset_done" INT NOT NULL,
    "ended" INT NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "stream_id" CHAR(36) NOT NULL UNIQUE REFERENCES "stream" ("uuid") ON DELETE CASCADE
) /* Where a stream's walk stands, saved as it goes so another process can resume it. */;"""

POSTGRES_SQL = """
        CREATE TABLE IF NOT EXISTS "stream_walk" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "fence" BIGINT NOT NULL,
    "node_uuid" UUID,
    "cell_index" INT NOT NULL,
    "instruction_uuid" UUID,
    "steps" INT NOT NULL,
    "rng_state" JSONB,
    "reset_done" BOOL NOT NULL,
    "ended" BOOL NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "stream_id" UUID NOT NULL UNIQUE REFERENCES "stream" ("uuid") ON DELETE CASCADE
);
COMMENT ON TABLE "stream_walk" IS 'Where a stream''s walk stands, saved as it goes so another process can resume it.';"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES_SQL
    return SQLITE_SQL


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """DROP TABLE IF EXISTS "stream_walk";"""


MODELS_STATE = (
    "eJztXW1z2joW/isa9sO2M2wngbz0cnd3hhDSsiWQAdLe3nLHcbAA3xiZa5uk2W7/+0ryuy"
    "0bi7fYjr4kIOnI5jmyfM6jo6MflYWuQM1811wpqt6CmlZpgB8VJC8g/hCvrIKKvFz6VaTA"
    "ku812lomzaSJ2+7etAx5YuGaqayZEBcp0JwY6tJSdYRL0UrTSKE+wQ1VNPOLVkj9awUlS5"
    "9Baw4NXPHtD1ysIgV+h6b7dfkgTVWoKaE7Xq1UhVyd1kjW85KW3t52Lq9oW3LBe2mia6sF"
    "CrZfPltzHXkCpPgdkSJ1M4igIVtQCfwUcqfO73aL7LvGBZaxgt7tKn6BAqfySiOAVP45Xa"
    "EJwQHQK5E/J/92bi7QTJJ6/ZE0bI8kqcKB30RHBHsVWQSsHz/tfn1IaGmFXKD1sTl4Uz97"
    "SyHQTWtm0EoKWOUnFZQt2RalwPtILzX5+V6ePMTRbs1lo41WC4p4B9+KjCYwhnxQPoI+vv"
    "lNcHcLfOD9gedBOvzaa0k33ebXi2brEyfiYeEGCH0do2akuhm/1lpdVRbyd0mDaGbN8dfj"
    "kxTdfW4OqPqOT6j6dPyw2c9hz6mp0SqiRV9rjwR/GNfZlabLFvsR8UUiapoSmX0p6uhd7f"
    "CPw2X/9qLbBjeDdqsz7PR75CqLZ/Mvza8kRbhAtSgEg3azG0HYngWnqgYlvqkoJrjLOSkL"
    "5C6CuZqCyEw/fWDOQD5gjPGsG1CdoU/wOTYLRWANvuOunL6Kia5f6r9zDPnJe0vGRxiGAf"
    "946I7l4WjQaY0qFHMyNT/JhiKFwCc1ek2PlHhtw1W+puxf5ZkGYVVdONJ9BEc6/jOAmkwR"
    "SNTVkHbnGiRrlOUAkXddUdAXtUUE2oWM5Bm9S9IdEXYwaCszyLLVaHmqmQbdFusMNPJSeD"
    "LB1NAXQEagfzu6uR0BRdcN8ObuTl9ZEsK9S6Tg7u4tsHTSqtMLNlJRqM276EtwT5dgGJDf"
    "KqHeKnQEBL7/ISzMvFmYEwMSTCTcgDHDX+JSS11ANupR2Qj6iiP8zv1QwFm/gn8injS1Z3"
    "cGSVbCqHONJ/fm9Q01aEzXoGmO2qSmFjZznNI3ZxGz0usEfOmMPgLyFfze77WjmvXajX6v"
    "kHuSV5aOH7QnSVYCQ9UtdVEL2VB41lLx79hM9TFhofu86N7FKKB85+593QdnZU4LmiEqbO"
    "iIexJ6C3Liy5IVAKc7KTGrY0s/pYf/XTpdFRPftW4Ka5iFPJVWc9hqXrYrifOGwDkLzozp"
    "kg3zjvxBTg/ngyEv5xWGi2NXpPo4M6+JYKGFjyB8hILZicJHeL26z+Ij0P8xlZN1J7a63f"
    "a7WWdaP7PuU6uhBaLa6WmGFSLcKnGJiNaFXQRFNcninMSLclTucKt6xcbb1FYzbrBDQmJc"
    "Z8HZggs8Pi2YgvX6ZetYJwdcu75sXzVvuyNOC80Va4CgPKdCzjOo4zxRGeexIW/hl9NCkk"
    "0TO2ULiCxpqWvq5HlTraT1d0AF4beddDtsDyTyYTgatJvXvMoikh8GzZuPgT4agFU6RozL"
    "2U0jhWN02W62Rp3P+NVNRoH7eZOBUDvK8mAeJT+XR9GxsFzdY1VJj6qp3rOWci90XYMyYk"
    "+DceGIuu+x9L707ZUc1l266Pe7IUPtojOKwH17fdEevDmmWvCjFTq9Uew5lA1LsuB3K477"
    "CJcmvHtCUgd8vl7ANx21fxuFwHaH8pvr5m9vQ5Zxt9/74DYP6KLV7V9EY0TuCcfFC3tYSs"
    "DODTtECjfoQRkBOTfkj9AwnViOyKyuzjooKeLMF4pATsjMPUF+tC/DlsZp/OOXWq1eP68d"
    "1c/en56cn5++P3qP29LbjVelWVsXnQ9kHg8hb0/ssVWIZN424Err+Hcx1OOIXX1aH45DqP"
    "ICenaJkThxQ3VLgIa0kzJBtE/enw4nBu3vDrNk1h+5LfZJ+v+o+L/DXmcgayekEfy+NKBJ"
    "Zi7vR3oLArhbe7EF+ybGs7SEhuStUbijpUL7wHdOvoAvH9uDNlBNR4IIg39R9O0FGbHwIB"
    "Ye8jtzFJR8FgsPr1f3+V94eFHP4QAELcaNFbuRDK8ncEB8/zadTg+Dcb2WAeJ6LRFhUhWh"
    "2nRTJfckfY+jnLIDKCx22F1A+3LL9rwLyIOMQWlnQZrFXAukWUiHLGRO9jgmK8hjDvIYo3"
    "ev6ZMHfCcbgh8TF/hz4O85nzHckx2+oIwI3U0P3fUc9C1DSb14xWKCujaONDimeANIw0Qk"
    "DUXdARtZssDdMCPp76Xclpbk2UZZGKz2TU3SsZVAT7rjLp2i9ELUD8dT0svaTyiN9qYjIT"
    "NnSUVcDVbXEpZOS8FWCrayIJNJQRkrwVa+Xt1nYSv9qT6m92xhdaEO8hzOW6E5ARp2aoAx"
    "svMINJx8ApVs4yDEvZ1loN6imvWZt7Mo8SZ4433yxrqhQAZvnBhf4rU/XHTJ8Z7DS2rHJ+"
    "cn7+tnJ15UiVeSFkzCJHUClh4fnRMQFEQOB5EzYZJnyTFpEzZbts/ZYUQs+cODvJeYtIAz"
    "lNXzCIgI1iydNWMzwRvtvy4upGs5s8CA2pwyU5FEkjltSQO5GaNKgnQs24WA6KAcWYBVZL"
    "BkYc4xmSeLZIwT2/gFPyX4qaJxFIKfer26z8JPkdl9K34q1MEBvaFW//q63ePeiHvdHHy6"
    "7H/pNYD7aYxuvo4+9nGJ/X+Mhrc37UGr3+12LtuDBgh9HSPnwg3gfBij5u1lp98A9N8mRN"
    "dxPQMfc1xPTjFdj0XxEaVwu7RBoRKwXof2aSl+vDxYWKg0W612xoUJomCnqQf98yE2yowe"
    "ENwC2mg66BdNeiEImCISMHHvmTXG4ypwE5xnVEDo1JUCjuqM6egDj3VIEfguQO+2241oYi"
    "tuwk/yn3TKjXsCwLpTbtxTB9YnUW9it3yp6bICFaAbwHxG1hyaqom/mvoKKb+Cuzuakn8p"
    "W/O7O6CawKCE1CMk+c5xY7CAiioDQ9eteAL13XcvCJOczPFVQZi8MqdZECavV/dZCBNvIm"
    "cTJmydh4RKlynu9DjLLjncKpHBoHU/4zib6n9ZW1pS8paExErjTh8gc0nBQqVWyFItDbr3"
    "UsSQqeCdxcBOpukiYoKo40/9RaZ3H6H4/JIWYxUXFnFWHHFWysqQ2SM+ZUtuUGjDDbn5PI"
    "KMBfYuNuRO5jJCkLU5KZmIDohs9N7MGcK7JqJNebHEpoXBtPgTUY1ICWC3SJPmc1VbhhLx"
    "sHp586yy7U9cQjhhOCg8IBEDZKQPvZ7KgtM+4666qmkRmJqWJU/mJAdyhUFyMlpV09hOzW"
    "kvyWGBtbRnH0HgCgNbGCr0AEdg0nR4VTDHvwvcP1MOcmnoE2ia+LNsAf0JmUC1TGDqkwfI"
    "ID133bmgPAXlKWiv3FKezvPLuWoclhKr8ewU/HyYhoQEpOkL8aaX9nXLpfhh2fLHViMrwa"
    "Fhtf6oP+fJ3gWy0HiExo3fX0kBDs+FeTrlL6wB1o6BqIpSNg3QplJgeGRYnseG5CMEtqhr"
    "Kf5KDcQ5lA3rHhsOpPgREqsRm5eqpoG5jn8abeNaoSZjZX6XPQsLNSfzfZqFOsfNeZcvgj"
    "J53mGfp8WLJWtAJ9JgS+Zw3uN6XM75r9j5L6xliHR3KiAmPKkieVKabFqSCSFjCSRd4yHB"
    "Euq8IDpmBInYSt6M1PY4vS1JbTarWMwhcODdsrZrx7J7PacvxeD122QwdO3WYKnj3wbso/"
    "Js1pRwpJ65CfQpkAHN6ciyaTfrRJivBTBfBcH6Ws0CEVNaTt1niSlFq4XkzdscblVMrjQB"
    "j7vdP0iOJmXZV/8Z9nspewh9sejjpE4s8D/6qt0XvoGX2f1K1SwVme/IZV/ifUZgCj1JsS"
    "C8aLxd5BEhHUSD8ETm9P0sJlGrcLMlpaCogDfLwpIN2c6Wl270YlJinGtMwXG2fqVJHAGQ"
    "DdzdHAEg+AjuaDtNn+3kcNKuPssAUc6iQTMh9CgbKrn9ncD02emsTMOJi97ycX2StYdkSN"
    "297lmB/eL0VpIBuBELSF4jxmri3EQCIRhsVF3PDUpqpL1IpCc4PMHhFYzHERze69V9Fg4v"
    "MMlLFvzOcAqTt3SyZEsRiHLonZ3YB2Q9eNkyGXrCB9xSe9trtj71+l+67csP7UvO91xEug"
    "HC38doSPMUDmmSwkG71e58Jq3cT6SsefmVFOB/JO1hq9UeDknCQ/phjK6ane7toN0Azgdc"
    "0ul1hh9JL+6n6Ppkloik45MMAUnHJ8kJD0+i4UgGtFYGkh5lbcWV8zAqJ3ZTb/DMCd5R8I"
    "658v2qm/KOLxR/7dE/iS6nww2tdTU1p51wMYWLKVzMgrkZWVxM3VBnKiN0NDm63ZfYyLjJ"
    "Gd0XOSIuiyF5lmxInsUMSQ0+Qkbe0A6y1jsQnuzhwjBqnHEYFVyHqxrgaIwu2xe3H8ixaG"
    "PU6V31SWdj9KU56HV6uLiOv7QHg/6gAU7wx9agM+q0mt0GOD3KaPLbkRz12vmZF8RBvqTF"
    "bwyvm91uPIhjAU1TnnEZ9gER4UlvckDXIVOA5XqO2cv2GfMld/7mDO6Shb+UBt28eqH5BH"
    "hrJ9RPth0f1jvDuPTwZs9ifmD33h7diQ6+N/jXuvjeQ5dlv8lwtYRGS9c0VYEGUJ1RUgUP"
    "8BnS3DxP2MeHZO+zASdQpfug/cUI5o7qXXTJIBm+0W249lRkWJU/BOnwMm9UQToI0kGsa7"
    "8O3WdZ13Zn5ayOoDeLl8HrPkQiBfK2i+GbnEnBaS5SKRQzb/m+XvkHGKkrE0oqWq4YwzU1"
    "Y3ZITiTL5kiW/aeMVibGTuKcJGJyIu9wErjkdPKN0A0KCnhTxq6h6wz+Yv3YdeUEuGljdy"
    "N0g4IC3iR4l6t7TZ1I6pLHpGCIiiWRTOYFTW9E0vXxOpghwR04lzmDvri+pE0kbJQWyeY6"
    "d7JfrIB+UaZNdUFSdRc4RXY1lREysVPzZXJreVs2E5c/gps6166APAYb7zTS8Vtgve0BPo"
    "tVCLEKUbB5sKBMtFiFeL26z7IKQSbjmMaTvTCnuViDyOZ6cW+bEvultt4vhce6OeFk0qOi"
    "gkznINNfNOQyb5PKHqMC4/CKw1aq/IetvGSsGs0Ek+iruXli1vppbnqa9YFqX2jImHty3N"
    "9NQEQBGSaKWQWm/AgVINMjOmY6JMfGARnpxGnzzpWbyAjggbpakMizeNjari8wRmN0dzeF"
    "eBjf3QHVpKmXLf0BIpJ2mXzBL2wVQWCsUODMO1JBrtwAUJ7M/UpLfoC0dozojenkuBI8gE"
    "x6LkkV34wCIC57Bk8GnuDs1M5EGl8ZDzZFJUDKGsCOHTm3BF/Lvpkq/SVj5F1Iww+0dxf0"
    "NyEdF6IZvt4CX5Ug8EY3gAnxFaf4g2q9Fdmj8zT/VlN8YzoeGTaFOktcEPJESpM69pdarV"
    "4/rx3Vz96fnpyfn74/8paD4lVp60IXnQ/EighZGwkJZnmHeEhI7DWIHF4NNU2iv4BjYTMs"
    "VJrBvLMlzWCKGd7RypIVgzbqXcAlT+pur70YqtGhaqCZlJDIJzlhd0hoq3TdxRmee8nLja"
    "ugJSk6YhkSaeREWFBQExzUBDa2IWNGToXbkxFIcyAt1hBe7xpCvgjA9R5pLm0ejmieOE+1"
    "nip0cxbvnSjMA/w7pwm3ov7Ias9IHy4hnMwrDPIvVF9No/9ICku6SOG3zbBVdSJP5rBByS"
    "kTXxkMh9ddoCK/4FFXJ5AwXuYzwoWmakIF6Hh8sHapbtkbOzbEXGjSXDbpT6LyFQd9/DIW"
    "sSL548NErEgZ3/VZYkVCj2rWqIGQUAljB3afLYsixpvtOCRUCpgPHULgvXuyjmxPoBRw73"
    "tUu290DoADIiWEuF7LAHG9lggxqQpDLK8UldiqGuT0x2KCIigjPSjDBywOM3dgRpN0dqWW"
    "6vCdasTpio2wXMVnQNNMOpvGqaqmRmYEGq31yYhpCGSgqDNoWm5cg9MDUBXqPFl4CCl2mA"
    "HQoPxADqImFwP6EiKTRBc4AnEnbffdiyCFnMxH1RSnjAamSLbWeV6xUbndvGdflAfatyEj"
    "/N/X6v/C70sV9ybJjEcsXe9hyRJqvSBaZqxoxNW8MqHBaUAHRITpnG46E6h2YDTfOt0UE9"
    "K19nJgQOXJUqaoM8xkVxvJNrKrdnGIRrkNUaJn3oxhQZnSGaDHp0cZLFDcKvlgLlIXyW8n"
    "m+aTjp9mXjY+JlhCYm0vu/lUk0TCTadxsFMDioJiIqaII6YIA4ffEszENesA9+UOiLg7wR"
    "QW8KlqmJbEO3WHpUqwcfUAkzdNrcQLdEhI4JwFZ7iQVcapQ8kYewKlw7d2moUGw61SXokx"
    "IozQFdKfuopYYbbpfEhEtISESIlpMDs1nM48MS1LUjmdfXKayCr34iwYRxxqIFzFXivaNg"
    "eYv4ZWsCc9idLZawqwJjRUdkSpU1NNI2Nkv82L0DEsMiZxUxeTiWHs6HLmgvzSAjvZ0ZXM"
    "vDxCw32CMkcw+SKCB8jGA5CHigNhp3kJ0T0+ymSyH6WY7Ecxkx1f0YKs08+S9ygGRLbaoZ"
    "g3tA+xRXGrfSfbvsx+/h8dkNQK"
)
