"""Who may call: the checks a route declares (`auth=`), enforced by the router before the
handler runs. Handlers receive the result as `caller`; none of them authenticates itself."""
