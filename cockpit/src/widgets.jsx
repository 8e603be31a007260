import React from "react";
import { Tooltip } from "@patternfly/react-core/dist/esm/components/Tooltip/index.js";
import { Alert } from "@patternfly/react-core/dist/esm/components/Alert/index.js";

// A control that may be disabled: the reason shows on hover (disabled buttons get no events, so
// the tooltip sits on a wrapper) and is in the DOM for screen readers and tests.
export function Disabled({ reason, children }) {
    if (!reason)
        return children;
    return (
        <Tooltip content={reason}>
            <span className="ss-disabled-wrap" tabIndex={0} data-disabled-reason={reason}>{children}</span>
        </Tooltip>
    );
}

export function InlineError({ error, id }) {
    if (!error)
        return null;
    return <Alert variant="danger" isInline isPlain title={error} id={id} className="ss-inline-error" />;
}
