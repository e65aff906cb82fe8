/** A password or token shown once: the value, a copy button, and what to do with it. */
import { type ReactNode, useState } from 'react';

export function OneTimeSecret(props: {
  label: string;
  secret: string;
  onDone: () => void;
  children: ReactNode;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="secret" role="status" aria-label={props.label}>
      <p>
        <strong>{props.label}</strong>
      </p>
      <p>
        <code data-testid="one-time-secret">{props.secret}</code>
      </p>
      <p className="muted">{props.children}</p>
      <div className="buttons">
        <button
          type="button"
          onClick={() =>
            void navigator.clipboard?.writeText(props.secret).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="primary" onClick={props.onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
