// The method packages the CLI ships with. Importing one registers its method and presets; nothing else in the CLI
// names a method.
import '@peftjs/lora';
import '@peftjs/dora';
import '@peftjs/ia3';
import '@peftjs/adalora';
