from tests.contracts.conftest import CHANGE, Chain, Council, expect_revert, payload


def test_non_council_cannot_propose(chain: Chain, registry, council: Council) -> None:
    outsider = chain.accounts[7]
    with expect_revert("RegistryNotCouncil", account=outsider):
        chain.transact(registry.functions.propose(CHANGE["SetThreshold"], payload("SetThreshold", 1)), outsider)


def test_admit(chain: Chain, registry, council: Council) -> None:
    mid = council.admit("卫健委", "Department", 2, chain.accounts[5])
    assert mid == 4
    assert registry.functions.hasRole(chain.accounts[5], 1).call()
