import type { Context } from '../context.js';
import { InputError, type ExitCode } from '../errors.js';

/** `ascendctl completion bash|zsh`: completion scripts generated from the parser's own definitions. */
export default async function completion(ctx: Context, args: string[]): Promise<ExitCode> {
  const shell = args[0];
  const { commandSpecs } = await import('../cli.js');
  const specs = commandSpecs();
  if (shell === 'bash') ctx.out.write(bashScript(specs));
  else if (shell === 'zsh') ctx.out.write(zshScript(specs));
  else throw new InputError(`completion ${shell ?? ''}: expected bash or zsh`, { hint: 'eval "$(ascendctl completion bash)" in ~/.bashrc, or ascendctl completion zsh > "${fpath[1]}/_ascendctl"' });
  return 0;
}

type Specs = ReturnType<typeof import('../cli.js')['commandSpecs']>;

export function bashScript(specs: Specs): string {
  const cases = specs.map((s) => `    ${s.name}) opts="${s.flags.join(' ')} --help" ;;`).join('\n');
  return `# bash completion for ascendctl — eval "$(ascendctl completion bash)"
_ascendctl() {
  local cur prev cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${specs.map((s) => s.name).join(' ')} --help --version" -- "$cur") )
    return
  fi
  case "$prev" in
    -i|--inventory|--device-ips|--image-archive|--out) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    --ping) COMPREPLY=( $(compgen -W "auto full" -- "$cur") ); return ;;
  esac
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur") )
  fi
}
complete -o filenames -F _ascendctl ascendctl
`;
}

export function zshScript(specs: Specs): string {
  const cmds = specs.map((s) => `'${s.name}'`).join(' ');
  const cases = specs.map((s) => `    ${s.name}) _arguments ${s.flags.filter((f) => f.startsWith('--')).map((f) => `'${f}[]'`).join(' ')} '*:file:_files -g "*.y(a|)ml"' ;;`).join('\n');
  return `#compdef ascendctl
# zsh completion for ascendctl — ascendctl completion zsh > "\${fpath[1]}/_ascendctl"
_ascendctl() {
  if (( CURRENT == 2 )); then
    compadd -- ${cmds}
    return
  fi
  case "\${words[2]}" in
${cases}
  esac
}
compdef _ascendctl ascendctl
`;
}
