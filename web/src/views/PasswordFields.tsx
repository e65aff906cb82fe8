/**
 * A new password, typed twice, with the server's rule checked before sending (the server checks
 * again): at least 10 characters and not the email. No `minLength` on the input: the browser's
 * own bubble would hide which rule failed; passwordProblem says it in the form's alert.
 */
export const PASSWORD_MIN_LENGTH = 10;

export interface NewPassword {
  password: string;
  repeat: string;
}

/** What is wrong with a new password, or null. */
export function passwordProblem(p: NewPassword, email: string): string | null {
  if (p.password.length < PASSWORD_MIN_LENGTH)
    return `The new password needs at least ${PASSWORD_MIN_LENGTH} characters.`;
  const lower = p.password.trim().toLowerCase();
  if (lower === email.toLowerCase() || lower === email.toLowerCase().split('@')[0])
    return 'The new password must not be your email address.';
  if (p.password !== p.repeat) return 'The two new passwords differ.';
  return null;
}

export function PasswordFields({
  value,
  onChange,
}: {
  value: NewPassword;
  onChange: (next: NewPassword) => void;
}) {
  return (
    <>
      <div className="field">
        <label>
          New password
          <input
            type="password"
            autoComplete="new-password"
            required
            maxLength={200}
            value={value.password}
            onChange={(e) => onChange({ ...value, password: e.target.value })}
            aria-describedby="password-rule"
          />
        </label>
        <small id="password-rule" className="muted">
          At least {PASSWORD_MIN_LENGTH} characters, not your email address.
        </small>
      </div>
      <div className="field">
        <label>
          Repeat new password
          <input
            type="password"
            autoComplete="new-password"
            required
            value={value.repeat}
            onChange={(e) => onChange({ ...value, repeat: e.target.value })}
          />
        </label>
      </div>
    </>
  );
}
