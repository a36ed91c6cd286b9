/** The page's elements and the few things both demo modes do with them. */
export const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export const page = {
  status: byId<HTMLParagraphElement>("status"),
  share: byId<HTMLParagraphElement>("share"),
  shareLink: byId<HTMLAnchorElement>("share-link"),
  messages: byId<HTMLUListElement>("messages"),
  form: byId<HTMLFormElement>("chat"),
  input: byId<HTMLInputElement>("message"),
  send: byId<HTMLButtonElement>("send"),
};

export function setStatus(text: string, state: string): void {
  page.status.textContent = text;
  page.status.dataset["state"] = state;
}

/** Adds a line to the conversation; `from` (a session id) marks whose it is. */
export function say(who: "you" | "peer" | "system", text: string, from?: string): void {
  const item = document.createElement("li");
  item.className = who;
  item.textContent = text;
  if (from) item.dataset["from"] = from;
  page.messages.append(item);
  page.messages.scrollTop = page.messages.scrollHeight;
}

export function enableChat(enabled: boolean): void {
  page.input.disabled = page.send.disabled = !enabled;
}

/** Shows a link that opens this page with `changes` applied to its query. */
export function showShareLink(changes: Record<string, string | null>): void {
  const link = new URL(location.href);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) link.searchParams.delete(key);
    else link.searchParams.set(key, value);
  }
  page.shareLink.href = page.shareLink.textContent = link.href;
  page.share.hidden = false;
}

/** Calls `onText` with each message typed and sent, then clears the input. */
export function onChatSubmit(onText: (text: string) => boolean): void {
  page.form.onsubmit = (event) => {
    event.preventDefault();
    const text = page.input.value.trim();
    if (text === "" || !onText(text)) return;
    say("you", text);
    page.input.value = "";
  };
}
