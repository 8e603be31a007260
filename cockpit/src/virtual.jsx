// Renders only the rows in view (plus a margin): the tree and the table stay fast at 20,000
// rows. Rows have one fixed height; spacers stand for the rest.
import React, { useEffect, useRef, useState } from "react";

export function useScrollWindow(count, rowHeight, overscan = 10) {
    const ref = useRef(null);
    const [view, setView] = useState({ top: 0, height: 800 });
    useEffect(() => {
        const el = ref.current;
        if (!el)
            return;
        let frame = 0;
        const update = () => {
            frame = 0;
            setView({ top: el.scrollTop, height: el.clientHeight || 800 });
        };
        const onScroll = () => { if (!frame) frame = requestAnimationFrame(update) };
        el.addEventListener("scroll", onScroll, { passive: true });
        const ro = new ResizeObserver(onScroll);
        ro.observe(el);
        update();
        return () => {
            el.removeEventListener("scroll", onScroll);
            ro.disconnect();
            if (frame)
                cancelAnimationFrame(frame);
        };
    }, []);
    const first = Math.max(0, Math.floor(view.top / rowHeight) - overscan);
    const last = Math.min(count, Math.ceil((view.top + view.height) / rowHeight) + overscan);
    return { ref, first, last, before: first * rowHeight, after: Math.max(0, (count - last) * rowHeight) };
}

export function VirtualList({ count, rowHeight, renderRow, className, ...rest }) {
    const w = useScrollWindow(count, rowHeight);
    const rows = [];
    for (let i = w.first; i < w.last; i++)
        rows.push(renderRow(i));
    return (
        <div ref={w.ref} className={className} {...rest}>
            <div style={{ height: w.before }} />
            {rows}
            <div style={{ height: w.after }} />
        </div>
    );
}
